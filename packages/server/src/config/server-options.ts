import { LIMITS } from '@reach/protocol';
import { z } from 'zod';
import { DEFAULT_MAX_BODY_BYTES } from '../http/body-limit.ts';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_KEY,
} from '../mcp/session-table.ts';
import {
  DEFAULT_TERMINAL_IDLE_TIMEOUT_S,
  DEFAULT_TERMINAL_MAX_PER_CLIENT,
} from '../terminal/terminal-service.ts';
import { EXCHANGE_OPTIONS } from './exchange-options.ts';
import { type OptionSpec, Port } from './option-spec.ts';
import { SSH_OPTIONS } from './ssh-options.ts';
import { STORAGE_OPTIONS } from './storage-options.ts';

const LogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
/** A comma-separated list (flags repeated or joined by commas); blanks dropped. */
const List = z.string().transform((s) =>
  s
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean),
);

/**
 * Every option of `reach-server` (the row format: option-spec.ts). The config schema, the flag
 * parser, the environment reader, `--help`, docs/server-options.md and the service env file all
 * come from this table, so adding an option is adding a row.
 */
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
  terminalMaxPerClient: {
    flag: 'terminal-max-per-client',
    env: 'TERMINAL_MAX_PER_CLIENT',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(1000),
    default: String(DEFAULT_TERMINAL_MAX_PER_CLIENT),
    help: 'browser terminals open at once on one client; the next is refused (RATE_LIMIT_EXCEEDED)',
    group: 'transport',
  },
  terminalIdleTimeoutS: {
    flag: 'terminal-idle-timeout-s',
    env: 'TERMINAL_IDLE_TIMEOUT_S',
    arg: 'S',
    type: z.coerce
      .number()
      .min(0)
      .max(7 * 86_400),
    default: String(DEFAULT_TERMINAL_IDLE_TIMEOUT_S),
    help: 'seconds a browser terminal may pass without input or output before it is closed; 0: never',
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
  ...SSH_OPTIONS,
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
  ...STORAGE_OPTIONS,
  metricsIntervalS: {
    flag: 'metrics-interval-s',
    env: 'METRICS_INTERVAL_S',
    arg: 'S',
    type: z.coerce.number().min(0).max(86_400),
    default: '30',
    help: "seconds between samples of each online client's summary metrics (metrics history); 0: off",
    group: 'clients',
  },
  sessionTtlH: {
    flag: 'session-ttl-h',
    env: 'SESSION_TTL_H',
    arg: 'H',
    type: z.coerce.number().positive().max(720),
    default: '12',
    help: 'hours a browser sign-in session lasts (sessions live in memory: a restart signs everyone out)',
    group: 'transport',
  },
  ...EXCHANGE_OPTIONS,
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
