import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LIMITS, ReachError } from '@reach/protocol';
import { z } from 'zod';
import { DEFAULT_MAX_BODY_BYTES } from '../http/body-limit.ts';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_KEY,
} from '../mcp/session-table.ts';
import { parseMaxStartups } from '../ssh/admission.ts';

/**
 * The server's configuration: one schema, merged as defaults < environment < flags. This module is
 * the only reader of `process.env` on the server (callers pass it in).
 */
const Port = z.coerce.number().int().min(0).max(65_535);
const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export const ServerConfigSchema = z.object({
  transport: z.enum(['stdio', 'http']).default('stdio'),
  /** HTTP listener (transport http). */
  host: z.string().min(1).default('127.0.0.1'),
  port: Port.default(8765),
  /** Embedded SSH server; port 0 picks an ephemeral port (tests). */
  sshHost: z.string().min(1).default('0.0.0.0'),
  sshPort: Port.default(2222),
  /** Holds the host key, authorized_keys and reach.db. */
  dataDir: z.string().min(1),
  apiKey: z.string().min(1).optional(),
  /** File of bearer keys, one a line (`#` comments); must not be readable by group or others. */
  apiKeyFile: z.string().min(1).optional(),
  /** Largest HTTP request body on any route, in bytes; larger ones get 413 before they are read. */
  maxBodyBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1024 * 1024 * 1024)
    .default(DEFAULT_MAX_BODY_BYTES),
  /** MCP HTTP sessions held at once; past it a new one replaces the least recently used. */
  mcpMaxSessions: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_MAX_SESSIONS),
  /** MCP HTTP sessions one API key holds; its next one replaces its own least recently used. */
  mcpMaxSessionsPerKey: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_MAX_SESSIONS_PER_KEY),
  /** Seconds an MCP HTTP session may sit idle (nothing in flight) before it is closed. */
  mcpIdleTimeoutS: z.coerce
    .number()
    .positive()
    .max(7 * 86_400)
    .default(DEFAULT_IDLE_TIMEOUT_MS / 1000),
  logLevel: LogLevel.default('info'),
  /** Seconds between heartbeats to each client. */
  heartbeatIntervalS: z.coerce.number().positive().max(3600).default(30),
  /** Seconds a heartbeat may take before it counts as a failure. */
  heartbeatTimeoutS: z.coerce.number().positive().max(600).default(10),
  /** Consecutive failed heartbeats after which the link is closed. */
  heartbeatMaxFailures: z.coerce.number().int().min(1).max(100).default(3),
  /** SSH connections allowed to be handshaking/authenticating at once; more are dropped at accept. */
  maxUnauthenticated: z.coerce.number().int().min(1).max(100_000).default(128),
  /**
   * OpenSSH-style `start:rate:full` random early drop of unauthenticated connections; `full`
   * overrides maxUnauthenticated. Unset: start = half of maxUnauthenticated, rate 30%.
   */
  maxStartups: z
    .string()
    .optional()
    .refine((v) => v === undefined || parseMaxStartups(v) !== undefined, {
      message: 'expected start:rate:full with 1 <= start <= full and rate <= 100, e.g. 64:30:128',
    }),
  /** Unauthenticated connections one source address may hold at once (a NAT shares one). */
  maxUnauthenticatedPerSource: z.coerce.number().int().min(1).max(100_000).default(16),
  /** Seconds a new connection may stay silent before its SSH identification string arrives. */
  bannerTimeoutS: z.coerce.number().positive().max(600).default(10),
  /** Seconds a connection may take to authenticate and register. */
  authTimeoutS: z.coerce.number().positive().max(600).default(30),
  /** Seconds after a client connects during which failed heartbeats do not count. */
  heartbeatGraceS: z.coerce.number().min(0).max(3600).default(60),
  /** Global webhook receiver (every event), HMAC secret, per-request timeout (s) and quick retries. */
  webhookUrl: z.string().optional(),
  webhookSecret: z.string().optional(),
  webhookTimeoutS: z.coerce.number().positive().max(300).default(10),
  webhookMaxRetries: z.coerce.number().int().min(0).max(20).default(3),
  /** Audit rows older than this are deleted. */
  auditRetentionDays: z.coerce.number().positive().max(36_500).default(90),
  /** Resumable download partials are removed this long after their last change, in hours. */
  partialTtlHours: z.coerce.number().min(0).max(8760).default(168),
  /** Resumable partials may take this much disk together, in MiB (oldest removed first). */
  partialMaxMib: z.coerce
    .number()
    .int()
    .min(0)
    .max(16 * 1024 * 1024)
    .default(4096),
  /** Optional JSON log file beside stderr, rotated by size. */
  logFile: z.string().optional(),
  logMaxBytes: z.coerce
    .number()
    .int()
    .min(4096)
    .default(10 * 1024 * 1024),
  logMaxFiles: z.coerce.number().int().min(1).max(100).default(5),
  /** Extra server directories upload_file/download_file may use (comma-separated); `<data-dir>/transfers` always. */
  transferRoots: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    ),
  /** `warn` counts and logs requests over a client's limits (the reference); `enforce` refuses them. */
  rateLimitMode: z.enum(['warn', 'enforce']).default('warn'),
  /** Default per-client limits; configure_client overrides them per client. */
  rateLimitRpm: z.coerce.number().int().min(1).max(1000).default(60),
  rateLimitConcurrent: z.coerce.number().int().min(1).max(100).default(10),
  /** Text one tool result may carry, in JSON bytes (a call's max_output_bytes may ask up to 8 MiB). */
  maxResultBytes: z.coerce
    .number()
    .int()
    .min(LIMITS.minResultBytes)
    .max(LIMITS.maxResultBytes)
    .default(LIMITS.defaultResultBytes),
  /** Extra Host header values accepted by the MCP endpoints (comma-separated), e.g. a public name. */
  allowedHosts: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean),
    ),
  /** Client downloads served at /latest and /releases (default `<data-dir>/releases`). */
  releasesDir: z.string().min(1).optional(),
  /** `open`: downloads need no API key (binaries are not secrets); `api-key`: they need the key. */
  releasesAuth: z.enum(['open', 'api-key']).default('open'),
  /**
   * The S3-compatible bucket of the exchange_* tools (storage/storage-settings.ts). The reference's
   * R2_ACCOUNT_ID / R2_ACCESS_KEY / R2_SECRET_KEY / R2_BUCKET are read as aliases; keys come from
   * the environment only (a flag would show in `ps`).
   */
  s3Endpoint: z.url({ protocol: /^https?$/ }).optional(),
  s3Region: z.string().min(1).max(64).default('auto'),
  s3Bucket: z.string().min(1).max(255).optional(),
  s3AccessKeyId: z.string().min(1).max(256).optional(),
  s3SecretAccessKey: z.string().min(1).max(512).optional(),
  s3ForcePathStyle: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  r2AccountId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, '32 hex digits')
    .optional(),
  /** Cloudflare API token for r2_rotate_keys and friends (environment only). */
  cloudflareApiToken: z.string().min(1).optional(),
  /** The Cloudflare v4 API's base URL (a loopback server in tests). */
  cloudflareApiBase: z.url({ protocol: /^https?$/ }).default('https://api.cloudflare.com/client/v4'),
  /**
   * An environment file (systemd EnvironmentFile, deploy/server.env) r2_rotate_keys rewrites with
   * the new key pair and REACH_S3_ROTATED_AT, instead of `<data-dir>/r2-credentials.json`.
   */
  s3CredentialsEnvFile: z.string().min(1).optional(),
  /** When the key pair in the environment was made by r2_rotate_keys (ISO 8601). */
  s3RotatedAt: z.iso.datetime().optional(),
});
export type ServerConfig = z.infer<typeof ServerConfigSchema>;
type ConfigKey = keyof ServerConfig;

/** Flag name → config key. Every flag takes a value. */
const FLAGS: Record<string, ConfigKey> = {
  transport: 'transport',
  host: 'host',
  port: 'port',
  'ssh-host': 'sshHost',
  'ssh-port': 'sshPort',
  'data-dir': 'dataDir',
  'api-key': 'apiKey',
  'api-key-file': 'apiKeyFile',
  'max-body-bytes': 'maxBodyBytes',
  'mcp-max-sessions': 'mcpMaxSessions',
  'mcp-max-sessions-per-key': 'mcpMaxSessionsPerKey',
  'mcp-idle-timeout': 'mcpIdleTimeoutS',
  'log-level': 'logLevel',
  'heartbeat-interval': 'heartbeatIntervalS',
  'heartbeat-timeout': 'heartbeatTimeoutS',
  'max-unauthenticated': 'maxUnauthenticated',
  'auth-timeout': 'authTimeoutS',
  'max-startups': 'maxStartups',
  'max-unauthenticated-per-source': 'maxUnauthenticatedPerSource',
  'banner-timeout': 'bannerTimeoutS',
  'rate-limit-mode': 'rateLimitMode',
  'rate-limit-rpm': 'rateLimitRpm',
  'rate-limit-concurrent': 'rateLimitConcurrent',
  'allowed-hosts': 'allowedHosts',
  'transfer-root': 'transferRoots',
  'heartbeat-grace': 'heartbeatGraceS',
  'webhook-url': 'webhookUrl',
  'webhook-timeout': 'webhookTimeoutS',
  'webhook-max-retries': 'webhookMaxRetries',
  'audit-retention-days': 'auditRetentionDays',
  'partial-ttl-hours': 'partialTtlHours',
  'partial-max-mib': 'partialMaxMib',
  'log-file': 'logFile',
  'log-max-bytes': 'logMaxBytes',
  'log-max-files': 'logMaxFiles',
  'max-result-bytes': 'maxResultBytes',
  'releases-dir': 'releasesDir',
  'releases-auth': 'releasesAuth',
  's3-endpoint': 's3Endpoint',
  's3-region': 's3Region',
  's3-bucket': 's3Bucket',
  's3-force-path-style': 's3ForcePathStyle',
  's3-credentials-env-file': 's3CredentialsEnvFile',
};

/** Flags that may be given more than once. */
const REPEATABLE = new Set(['transfer-root']);

/** Environment variable (without prefix) → config key; `ETPHONEHOME_<name>` is a deprecated alias. */
const ENV: Record<string, ConfigKey> = {
  TRANSPORT: 'transport',
  HOST: 'host',
  PORT: 'port',
  SSH_HOST: 'sshHost',
  SSH_PORT: 'sshPort',
  SERVER_HOME: 'dataDir',
  API_KEY: 'apiKey',
  API_KEY_FILE: 'apiKeyFile',
  MAX_BODY_BYTES: 'maxBodyBytes',
  MCP_MAX_SESSIONS: 'mcpMaxSessions',
  MCP_MAX_SESSIONS_PER_KEY: 'mcpMaxSessionsPerKey',
  MCP_IDLE_TIMEOUT: 'mcpIdleTimeoutS',
  LOG_LEVEL: 'logLevel',
  HEARTBEAT_INTERVAL: 'heartbeatIntervalS',
  HEARTBEAT_TIMEOUT: 'heartbeatTimeoutS',
  MAX_STARTUPS: 'maxStartups',
  MAX_UNAUTHENTICATED_PER_SOURCE: 'maxUnauthenticatedPerSource',
  BANNER_TIMEOUT: 'bannerTimeoutS',
  RATE_LIMIT_MODE: 'rateLimitMode',
  RATE_LIMIT_RPM: 'rateLimitRpm',
  RATE_LIMIT_CONCURRENT: 'rateLimitConcurrent',
  ALLOWED_HOSTS: 'allowedHosts',
  TRANSFER_ROOTS: 'transferRoots',
  HEARTBEAT_GRACE: 'heartbeatGraceS',
  WEBHOOK_URL: 'webhookUrl',
  // The secret is read from the environment only: a flag would show in `ps`.
  WEBHOOK_SECRET: 'webhookSecret',
  WEBHOOK_TIMEOUT: 'webhookTimeoutS',
  WEBHOOK_MAX_RETRIES: 'webhookMaxRetries',
  AUDIT_RETENTION_DAYS: 'auditRetentionDays',
  PARTIAL_TTL_HOURS: 'partialTtlHours',
  PARTIAL_MAX_MIB: 'partialMaxMib',
  LOG_FILE: 'logFile',
  LOG_MAX_BYTES: 'logMaxBytes',
  LOG_MAX_FILES: 'logMaxFiles',
  MAX_RESULT_BYTES: 'maxResultBytes',
  RELEASES_DIR: 'releasesDir',
  RELEASES_AUTH: 'releasesAuth',
  S3_ENDPOINT: 's3Endpoint',
  S3_REGION: 's3Region',
  S3_BUCKET: 's3Bucket',
  S3_ACCESS_KEY_ID: 's3AccessKeyId',
  S3_SECRET_ACCESS_KEY: 's3SecretAccessKey',
  S3_FORCE_PATH_STYLE: 's3ForcePathStyle',
  S3_CREDENTIALS_ENV_FILE: 's3CredentialsEnvFile',
  S3_ROTATED_AT: 's3RotatedAt',
  R2_ACCOUNT_ID: 'r2AccountId',
  CLOUDFLARE_API_TOKEN: 'cloudflareApiToken',
  CLOUDFLARE_API_BASE: 'cloudflareApiBase',
};

/** The reference's unprefixed names, read when the REACH_ one is unset (no warning: they are its documented names). */
const REFERENCE_ENV: Record<string, ConfigKey> = {
  R2_ACCOUNT_ID: 'r2AccountId',
  R2_ACCESS_KEY: 's3AccessKeyId',
  R2_SECRET_KEY: 's3SecretAccessKey',
  R2_BUCKET: 's3Bucket',
  CLOUDFLARE_API_TOKEN: 'cloudflareApiToken',
};

/** Every environment variable the server reads (the env file example lists them all). */
export const SERVER_ENV_NAMES: readonly string[] = Object.keys(ENV).map((name) => `REACH_${name}`);

export interface LoadedServerConfig {
  config: ServerConfig;
  /** Arguments left after the flags (subcommand and its operands). */
  positionals: string[];
  /** Deprecation notices to log once the logger exists. */
  warnings: string[];
}

const warnedAliases = new Set<string>();

/**
 * Parses flags and environment into a validated config. A bad flag or value throws
 * ReachError INVALID_ARGUMENT naming it.
 */
export function loadServerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LoadedServerConfig {
  const warnings: string[] = [];
  const raw: Partial<Record<ConfigKey, string>> = { dataDir: join(homedir(), '.reach-server') };

  for (const [name, key] of Object.entries(ENV)) {
    const modern = env[`REACH_${name}`];
    const legacy = env[`ETPHONEHOME_${name}`];
    if (modern !== undefined && modern !== '') raw[key] = modern;
    else if (legacy !== undefined && legacy !== '') {
      raw[key] = legacy;
      if (!warnedAliases.has(name)) {
        warnedAliases.add(name);
        warnings.push(`ETPHONEHOME_${name} is deprecated; use REACH_${name}`);
      }
    }
  }

  for (const [name, key] of Object.entries(REFERENCE_ENV)) {
    const value = env[name];
    if (raw[key] === undefined && value !== undefined && value !== '') raw[key] = value;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.keys(FLAGS).map((f) => [f, { type: 'string' as const, multiple: REPEATABLE.has(f) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', (err as Error).message);
  }
  for (const [flag, value] of Object.entries(parsed.values)) {
    const key = FLAGS[flag];
    if (key !== undefined && typeof value === 'string') raw[key] = value;
    // A repeatable flag's values join its comma-separated form.
    if (key !== undefined && Array.isArray(value)) raw[key] = value.join(',');
  }

  const result = ServerConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') ?? '';
    const flag = Object.entries(FLAGS).find(([, k]) => k === path)?.[0] ?? path;
    throw new ReachError('INVALID_ARGUMENT', `invalid --${flag}: ${issue?.message ?? 'invalid value'}`);
  }
  return { config: result.data, positionals: parsed.positionals, warnings };
}
