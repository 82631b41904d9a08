import { LIMITS } from '@reach/protocol';
import { z } from 'zod';
import { DEFAULT_MAX_BODY_BYTES } from '../http/body-limit.ts';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_KEY,
} from '../mcp/session-table.ts';
import { parseMaxStartups } from '../ssh/admission.ts';

/**
 * Every option of `reach-server`, one row each: the flag, its environment variable, the zod type
 * that parses its text, its default and its help. The config schema, the flag parser, the
 * environment reader, `--help` and docs/server-options.md all come from this table, so adding an
 * option is adding a row.
 */
export interface OptionSpec {
  /** Long flag without `--`; null for an option read from the environment only (a secret). */
  flag: string | null;
  /** Environment variable without the `REACH_` prefix (`ETPHONEHOME_<env>` is a deprecated alias); null: flag only. */
  env: string | null;
  /** What `--help` shows as the flag's value (`N`, `DIR`); absent for a boolean flag. */
  arg?: string;
  /** Parses the option's text (flag or environment) into the config value. */
  type: z.ZodType;
  /** Raw text used when neither flag nor environment gives one; a leading `~/` is the home directory. */
  default?: string;
  help: string;
  /** Where `--help` lists it. */
  group: OptionGroup;
  /** The flag may be given more than once; its values join the comma-separated form. */
  repeatable?: boolean;
  /** A path: a leading `~/` is expanded to the home directory. */
  path?: boolean;
  /** Unprefixed variables read when `REACH_<env>` is unset, without a warning (the reference's names). */
  aliases?: readonly string[];
}

export type OptionGroup = 'transport' | 'ssh' | 'clients' | 'webhooks' | 'storage' | 'exchange' | 'logging';

export const OPTION_GROUPS: Record<OptionGroup, string> = {
  transport: 'MCP and HTTP',
  ssh: 'Embedded SSH server',
  clients: 'Clients, limits and transfers',
  webhooks: 'Webhooks',
  storage: 'Data, audit and releases',
  exchange: 'File exchange through S3-compatible storage (exchange_*, r2_*)',
  logging: 'Logging',
};

const Port = z.coerce.number().int().min(0).max(65_535);
const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
/** A comma-separated list (flags repeated or joined by commas); blanks dropped. */
const List = z.string().transform((s) =>
  s
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean),
);

export const SERVER_OPTIONS = {
  transport: {
    flag: 'transport',
    env: 'TRANSPORT',
    arg: 'stdio|http',
    type: z.enum(['stdio', 'http']),
    default: 'stdio',
    help: 'MCP over stdin/stdout (what an MCP host launches; bridges to a running daemon on the same data dir) or the HTTP daemon',
    group: 'transport',
  },
  host: {
    flag: 'host',
    env: 'HOST',
    arg: 'H',
    type: z.string().min(1),
    default: '127.0.0.1',
    help: 'HTTP listen address; a non-loopback address requires an API key',
    group: 'transport',
  },
  port: {
    flag: 'port',
    env: 'PORT',
    arg: 'N',
    type: Port,
    default: '8765',
    help: 'HTTP port',
    group: 'transport',
  },
  apiKey: {
    flag: 'api-key',
    env: 'API_KEY',
    arg: 'KEY',
    type: z.string().min(1).optional(),
    help: 'bearer key every HTTP route but /health requires; visible to other users in ps: prefer --api-key-file or REACH_API_KEY',
    group: 'transport',
  },
  apiKeyFile: {
    flag: 'api-key-file',
    env: 'API_KEY_FILE',
    arg: 'FILE',
    type: z.string().min(1).optional(),
    help: 'file of bearer keys, one a line (# comments); refused if group or others may read it',
    group: 'transport',
    path: true,
  },
  maxBodyBytes: {
    flag: 'max-body-bytes',
    env: 'MAX_BODY_BYTES',
    arg: 'N',
    type: z.coerce
      .number()
      .int()
      .min(1024)
      .max(1024 * 1024 * 1024),
    default: String(DEFAULT_MAX_BODY_BYTES),
    help: 'largest HTTP request body on any route, in bytes; larger ones get 413 before they are read',
    group: 'transport',
  },
  maxResultBytes: {
    flag: 'max-result-bytes',
    env: 'MAX_RESULT_BYTES',
    arg: 'N',
    type: z.coerce.number().int().min(LIMITS.minResultBytes).max(LIMITS.maxResultBytes),
    default: String(LIMITS.defaultResultBytes),
    help: "text one tool result may carry, in JSON bytes (a call's max_output_bytes may ask up to 8 MiB)",
    group: 'transport',
  },
  mcpMaxSessions: {
    flag: 'mcp-max-sessions',
    env: 'MCP_MAX_SESSIONS',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100_000),
    default: String(DEFAULT_MAX_SESSIONS),
    help: 'MCP HTTP sessions held at once; past it a new one replaces the least recently used',
    group: 'transport',
  },
  mcpMaxSessionsPerKey: {
    flag: 'mcp-max-sessions-per-key',
    env: 'MCP_MAX_SESSIONS_PER_KEY',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100_000),
    default: String(DEFAULT_MAX_SESSIONS_PER_KEY),
    help: 'MCP HTTP sessions one API key holds; its next one replaces its own least recently used',
    group: 'transport',
  },
  mcpIdleTimeoutS: {
    flag: 'mcp-idle-timeout',
    env: 'MCP_IDLE_TIMEOUT',
    arg: 'S',
    type: z.coerce
      .number()
      .positive()
      .max(7 * 86_400),
    default: String(DEFAULT_IDLE_TIMEOUT_MS / 1000),
    help: 'seconds an MCP HTTP session may sit idle (nothing in flight) before it is closed',
    group: 'transport',
  },
  allowedHosts: {
    flag: 'allowed-hosts',
    env: 'ALLOWED_HOSTS',
    arg: 'H,…',
    type: List,
    default: '',
    help: 'extra Host header values the MCP endpoints accept (e.g. a reverse proxy’s name)',
    group: 'transport',
  },
  sshHost: {
    flag: 'ssh-host',
    env: 'SSH_HOST',
    arg: 'H',
    type: z.string().min(1),
    default: '0.0.0.0',
    help: 'embedded SSH server address',
    group: 'ssh',
  },
  sshPort: {
    flag: 'ssh-port',
    env: 'SSH_PORT',
    arg: 'N',
    type: Port,
    default: '2222',
    help: 'embedded SSH server port (443 gets through most firewalls; 0 picks a free one)',
    group: 'ssh',
  },
  maxUnauthenticated: {
    flag: 'max-unauthenticated',
    env: 'MAX_UNAUTHENTICATED',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100_000),
    default: '128',
    help: 'SSH connections handshaking or authenticating at once; more are dropped at accept',
    group: 'ssh',
  },
  maxStartups: {
    flag: 'max-startups',
    env: 'MAX_STARTUPS',
    arg: 'START:RATE:FULL',
    type: z
      .string()
      .optional()
      .refine((v) => v === undefined || parseMaxStartups(v) !== undefined, {
        message: 'expected start:rate:full with 1 <= start <= full and rate <= 100, e.g. 64:30:128',
      }),
    help: 'random early drop (OpenSSH MaxStartups): from START unauthenticated connections drop RATE%, rising to 100% at FULL; overrides --max-unauthenticated (unset: half of it, 30%)',
    group: 'ssh',
  },
  maxUnauthenticatedPerSource: {
    flag: 'max-unauthenticated-per-source',
    env: 'MAX_UNAUTHENTICATED_PER_SOURCE',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100_000),
    default: '16',
    help: 'unauthenticated connections one address (IPv6: one /64) may hold; raise it for many clients behind one NAT',
    group: 'ssh',
  },
  bannerTimeoutS: {
    flag: 'banner-timeout',
    env: 'BANNER_TIMEOUT',
    arg: 'S',
    type: z.coerce.number().positive().max(600),
    default: '10',
    help: 'seconds a new connection may stay silent before its SSH identification arrives',
    group: 'ssh',
  },
  authTimeoutS: {
    flag: 'auth-timeout',
    env: 'AUTH_TIMEOUT',
    arg: 'S',
    type: z.coerce.number().positive().max(600),
    default: '30',
    help: 'seconds a connection may take to authenticate and register',
    group: 'ssh',
  },
  heartbeatIntervalS: {
    flag: 'heartbeat-interval',
    env: 'HEARTBEAT_INTERVAL',
    arg: 'S',
    type: z.coerce.number().positive().max(3600),
    default: '30',
    help: 'seconds between heartbeats to each client',
    group: 'clients',
  },
  heartbeatTimeoutS: {
    flag: 'heartbeat-timeout',
    env: 'HEARTBEAT_TIMEOUT',
    arg: 'S',
    type: z.coerce.number().positive().max(600),
    default: '10',
    help: 'seconds a heartbeat may take before it counts as failed',
    group: 'clients',
  },
  heartbeatMaxFailures: {
    flag: 'heartbeat-max-failures',
    env: 'HEARTBEAT_MAX_FAILURES',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100),
    default: '3',
    help: 'consecutive failed heartbeats after which the link is closed',
    group: 'clients',
  },
  heartbeatGraceS: {
    flag: 'heartbeat-grace',
    env: 'HEARTBEAT_GRACE',
    arg: 'S',
    type: z.coerce.number().min(0).max(3600),
    default: '60',
    help: 'seconds after a client connects during which failed heartbeats do not count',
    group: 'clients',
  },
  rateLimitMode: {
    flag: 'rate-limit-mode',
    env: 'RATE_LIMIT_MODE',
    arg: 'warn|enforce',
    type: z.enum(['warn', 'enforce']),
    default: 'warn',
    help: 'requests over a client’s limits are only counted and logged (warn) or refused (enforce)',
    group: 'clients',
  },
  rateLimitRpm: {
    flag: 'rate-limit-rpm',
    env: 'RATE_LIMIT_RPM',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(1000),
    default: '60',
    help: 'default requests per minute per client (configure_client overrides it)',
    group: 'clients',
  },
  rateLimitConcurrent: {
    flag: 'rate-limit-concurrent',
    env: 'RATE_LIMIT_CONCURRENT',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100),
    default: '10',
    help: 'default concurrent requests per client',
    group: 'clients',
  },
  transferRoots: {
    flag: 'transfer-root',
    env: 'TRANSFER_ROOTS',
    arg: 'DIR,…',
    type: List,
    default: '',
    help: 'server directories upload_file/download_file may use besides <data-dir>/transfers (repeatable)',
    group: 'clients',
    repeatable: true,
  },
  dataDir: {
    flag: 'data-dir',
    env: 'SERVER_HOME',
    arg: 'DIR',
    type: z.string().min(1),
    default: '~/.reach-server',
    help: 'host key, authorized_keys, reach.db (created owner-only)',
    group: 'storage',
    path: true,
  },
  auditRetentionDays: {
    flag: 'audit-retention-days',
    env: 'AUDIT_RETENTION_DAYS',
    arg: 'N',
    type: z.coerce.number().positive().max(36_500),
    default: '90',
    help: 'audit log rows older than this many days are deleted',
    group: 'storage',
  },
  partialTtlHours: {
    flag: 'partial-ttl-hours',
    env: 'PARTIAL_TTL_HOURS',
    arg: 'H',
    type: z.coerce.number().min(0).max(8760),
    default: '168',
    help: 'resumable download partials are removed this many hours after their last change',
    group: 'storage',
  },
  partialMaxMib: {
    flag: 'partial-max-mib',
    env: 'PARTIAL_MAX_MIB',
    arg: 'N',
    type: z.coerce
      .number()
      .int()
      .min(0)
      .max(16 * 1024 * 1024),
    default: '4096',
    help: 'MiB resumable partials may take together (oldest removed first)',
    group: 'storage',
  },
  releasesDir: {
    flag: 'releases-dir',
    env: 'RELEASES_DIR',
    arg: 'DIR',
    type: z.string().min(1).optional(),
    help: 'client downloads served at /latest and /releases (default <data-dir>/releases)',
    group: 'storage',
    path: true,
  },
  releasesAuth: {
    flag: 'releases-auth',
    env: 'RELEASES_AUTH',
    arg: 'open|api-key',
    type: z.enum(['open', 'api-key']),
    default: 'open',
    help: 'downloads need no API key (binaries are not secrets), or need the key',
    group: 'storage',
  },
  s3Endpoint: {
    flag: 's3-endpoint',
    env: 'S3_ENDPOINT',
    arg: 'URL',
    type: z.url({ protocol: /^https?$/ }).optional(),
    help: 'S3-compatible endpoint of the exchange bucket (R2: derived from R2_ACCOUNT_ID when unset)',
    group: 'exchange',
  },
  s3Region: {
    flag: 's3-region',
    env: 'S3_REGION',
    arg: 'REGION',
    type: z.string().min(1).max(64),
    default: 'auto',
    help: 'region the requests are signed for',
    group: 'exchange',
  },
  s3Bucket: {
    flag: 's3-bucket',
    env: 'S3_BUCKET',
    arg: 'NAME',
    type: z.string().min(1).max(255).optional(),
    help: 'the exchange bucket',
    group: 'exchange',
    aliases: ['R2_BUCKET'],
  },
  s3AccessKeyId: {
    // Keys come from the environment only: a flag would show in `ps`.
    flag: null,
    env: 'S3_ACCESS_KEY_ID',
    type: z.string().min(1).max(256).optional(),
    help: 'access key id of the bucket (also R2_ACCESS_KEY)',
    group: 'exchange',
    aliases: ['R2_ACCESS_KEY'],
  },
  s3SecretAccessKey: {
    flag: null,
    env: 'S3_SECRET_ACCESS_KEY',
    type: z.string().min(1).max(512).optional(),
    help: 'secret access key of the bucket (also R2_SECRET_KEY)',
    group: 'exchange',
    aliases: ['R2_SECRET_KEY'],
  },
  s3ForcePathStyle: {
    flag: 's3-force-path-style',
    env: 'S3_FORCE_PATH_STYLE',
    arg: 'true|false',
    type: z.enum(['true', 'false']).transform((v) => v === 'true'),
    default: 'false',
    help: 'address the bucket in the path instead of the host name',
    group: 'exchange',
  },
  s3CredentialsEnvFile: {
    flag: 's3-credentials-env-file',
    env: 'S3_CREDENTIALS_ENV_FILE',
    arg: 'FILE',
    type: z.string().min(1).optional(),
    help: 'environment file r2_rotate_keys rewrites with the new key pair (default <data-dir>/r2-credentials.json)',
    group: 'exchange',
    path: true,
  },
  s3RotatedAt: {
    flag: null,
    env: 'S3_ROTATED_AT',
    type: z.iso.datetime().optional(),
    help: 'when r2_rotate_keys made the key pair in the environment (ISO 8601)',
    group: 'exchange',
  },
  r2AccountId: {
    flag: null,
    env: 'R2_ACCOUNT_ID',
    type: z
      .string()
      .regex(/^[0-9a-f]{32}$/, '32 hex digits')
      .optional(),
    help: 'Cloudflare account id (32 hex digits; also R2_ACCOUNT_ID)',
    group: 'exchange',
    aliases: ['R2_ACCOUNT_ID'],
  },
  cloudflareApiToken: {
    flag: null,
    env: 'CLOUDFLARE_API_TOKEN',
    type: z.string().min(1).optional(),
    help: 'Cloudflare API token for r2_rotate_keys and friends (also CLOUDFLARE_API_TOKEN)',
    group: 'exchange',
    aliases: ['CLOUDFLARE_API_TOKEN'],
  },
  cloudflareApiBase: {
    flag: null,
    env: 'CLOUDFLARE_API_BASE',
    type: z.url({ protocol: /^https?$/ }),
    default: 'https://api.cloudflare.com/client/v4',
    help: 'the Cloudflare v4 API base URL',
    group: 'exchange',
  },
  webhookUrl: {
    flag: 'webhook-url',
    env: 'WEBHOOK_URL',
    arg: 'URL',
    type: z.string().optional(),
    help: 'receiver of every webhook event',
    group: 'webhooks',
  },
  webhookSecret: {
    // Read from the environment only: a flag would show in `ps`.
    flag: null,
    env: 'WEBHOOK_SECRET',
    type: z.string().optional(),
    help: 'HMAC-SHA256 key signing every webhook body',
    group: 'webhooks',
  },
  webhookTimeoutS: {
    flag: 'webhook-timeout',
    env: 'WEBHOOK_TIMEOUT',
    arg: 'S',
    type: z.coerce.number().positive().max(300),
    default: '10',
    help: 'seconds one webhook POST may take',
    group: 'webhooks',
  },
  webhookMaxRetries: {
    flag: 'webhook-max-retries',
    env: 'WEBHOOK_MAX_RETRIES',
    arg: 'N',
    type: z.coerce.number().int().min(0).max(20),
    default: '3',
    help: 'quick retries of a failed delivery before it waits in the outbox',
    group: 'webhooks',
  },
  logLevel: {
    flag: 'log-level',
    env: 'LOG_LEVEL',
    arg: 'LEVEL',
    type: LogLevel,
    default: 'info',
    help: 'fatal, error, warn, info, debug, trace or silent; JSON lines on stderr',
    group: 'logging',
  },
  logFile: {
    flag: 'log-file',
    env: 'LOG_FILE',
    arg: 'FILE',
    type: z.string().optional(),
    help: 'JSON log file beside stderr, rotated by size',
    group: 'logging',
    path: true,
  },
  logMaxBytes: {
    flag: 'log-max-bytes',
    env: 'LOG_MAX_BYTES',
    arg: 'N',
    type: z.coerce.number().int().min(4096),
    default: String(10 * 1024 * 1024),
    help: 'size at which the log file is rotated',
    group: 'logging',
  },
  logMaxFiles: {
    flag: 'log-max-files',
    env: 'LOG_MAX_FILES',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100),
    default: '5',
    help: 'rotated log files kept',
    group: 'logging',
  },
} as const satisfies Record<string, OptionSpec>;

export type ServerOptionKey = keyof typeof SERVER_OPTIONS;

/** The config object's schema: one key per row, typed by the row's `type`. */
type Shape = { [K in ServerOptionKey]: (typeof SERVER_OPTIONS)[K]['type'] };
export const ServerConfigSchema = z.object(
  Object.fromEntries(Object.entries(SERVER_OPTIONS).map(([key, o]) => [key, o.type])) as Shape,
);
export type ServerConfig = z.infer<typeof ServerConfigSchema>;
