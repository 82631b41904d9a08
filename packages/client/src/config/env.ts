import type { ClientConfigInput } from './schema.ts';

type Env = Readonly<Record<string, string | undefined>>;

interface EnvVar {
  key: keyof ClientConfigInput;
  /** Turns the variable's text into the raw value the schema then validates. */
  parse: (text: string) => unknown;
}

const text = (s: string): string => s;
const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);

/** Typed registry of the configuration variables: REACH_<NAME> sets config key <name>. */
export const CONFIG_ENV_VARS: Readonly<Record<string, EnvVar>> = {
  SERVER_HOST: { key: 'server_host', parse: text },
  SERVER_PORT: { key: 'server_port', parse: text },
  SERVER_USER: { key: 'server_user', parse: text },
  KEY_FILE: { key: 'key_file', parse: text },
  CLIENT_ID: { key: 'client_id', parse: text },
  RECONNECT_DELAY: { key: 'reconnect_delay', parse: text },
  MAX_RECONNECT_DELAY: { key: 'max_reconnect_delay', parse: text },
  /** Comma-separated absolute paths. */
  ALLOWED_PATHS: { key: 'allowed_paths', parse: list },
  LOG_LEVEL: { key: 'log_level', parse: text },
  DISPLAY_NAME: { key: 'display_name', parse: text },
  PURPOSE: { key: 'purpose', parse: text },
  /** Comma-separated tags. */
  TAGS: { key: 'tags', parse: list },
  PARTIAL_TTL_HOURS: { key: 'partial_ttl_hours', parse: text },
  PARTIAL_MAX_MIB: { key: 'partial_max_mib', parse: text },
  AUTO_UPDATE: { key: 'auto_update', parse: text },
  TERMINAL: { key: 'terminal', parse: text },
  UPDATE_HEALTH_WINDOW_S: { key: 'update_health_window_s', parse: text },
  UPDATE_CHECK_INTERVAL_H: { key: 'update_check_interval_h', parse: text },
  UPDATE_CHANNEL: { key: 'update_channel', parse: text },
};

const PREFIX = 'REACH_';
const LEGACY_PREFIX = 'ETPHONEHOME_';

/**
 * Reads `REACH_<NAME>`, falling back to the deprecated `ETPHONEHOME_<NAME>`; each legacy name used
 * is reported once through `onLegacy`.
 */
export function readEnvVar(env: Env, name: string, onLegacy: (legacy: string, current: string) => void) {
  const current = env[PREFIX + name];
  if (current !== undefined && current !== '') return current;
  const legacy = env[LEGACY_PREFIX + name];
  if (legacy !== undefined && legacy !== '') {
    onLegacy(LEGACY_PREFIX + name, PREFIX + name);
    return legacy;
  }
  return undefined;
}

/** The configuration values the environment sets, as raw input for the schema. */
export function configFromEnv(env: Env, onLegacy: (legacy: string, current: string) => void) {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CONFIG_ENV_VARS)) {
    const value = readEnvVar(env, name, onLegacy);
    if (value !== undefined) out[spec.key] = spec.parse(value);
  }
  return out as Partial<ClientConfigInput>;
}
