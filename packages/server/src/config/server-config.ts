import { homedir as osHomedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ReachError } from '@reach/protocol';
import type { OptionSpec } from './option-spec.ts';
import {
  SERVER_OPTIONS,
  type ServerConfig,
  ServerConfigSchema,
  type ServerOptionKey,
} from './server-options.ts';

export { type ServerConfig, ServerConfigSchema } from './server-options.ts';

/**
 * The server's configuration, merged as defaults < environment < flags from the one option table
 * (server-options.ts). This module is the only reader of `process.env` on the server: callers pass
 * the environment in.
 */
export interface LoadedServerConfig {
  config: ServerConfig;
  /** Arguments left after the flags (subcommand and its operands). */
  positionals: string[];
  /** Deprecation notices to log once the logger exists. */
  warnings: string[];
}

export interface LoadOptions {
  /** Expands `~/` in path options; default os.homedir(). */
  homedir?: string;
}

const ROWS = Object.entries(SERVER_OPTIONS) as [ServerOptionKey, OptionSpec][];

/** Every environment variable the server reads (the env file example lists them all). */
export const SERVER_ENV_NAMES: readonly string[] = ROWS.flatMap(([, s]) =>
  s.env === null ? [] : [`REACH_${s.env}`],
);

const warnedAliases = new Set<string>();

/** `~/x` → `<home>/x`; other paths unchanged. */
function expandHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

/** `REACH_<name>`, else the deprecated `ETPHONEHOME_<name>` (noted once per process). */
function readEnv(env: Readonly<Record<string, string | undefined>>, name: string, warnings: string[]) {
  const modern = env[`REACH_${name}`];
  if (modern !== undefined && modern !== '') return modern;
  const legacy = env[`ETPHONEHOME_${name}`];
  if (legacy === undefined || legacy === '') return undefined;
  if (!warnedAliases.has(name)) {
    warnedAliases.add(name);
    warnings.push(`ETPHONEHOME_${name} is deprecated; use REACH_${name}`);
  }
  return legacy;
}

/** The first of the reference's unprefixed names that is set. */
function readAliases(env: Readonly<Record<string, string | undefined>>, aliases: readonly string[] = []) {
  for (const name of aliases) {
    const value = env[name];
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

/** Where a value came from, for the error that names it. */
function sourceName(spec: OptionSpec, fromFlag: boolean): string {
  if (fromFlag && spec.flag !== null) return `--${spec.flag}`;
  if (spec.env !== null) return `REACH_${spec.env}`;
  return `--${spec.flag}`;
}

/**
 * Parses flags and environment into a validated config. A bad flag or value throws ReachError
 * INVALID_ARGUMENT naming the flag (or the variable it came from).
 */
export function loadServerConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  opts: LoadOptions = {},
): LoadedServerConfig {
  const home = opts.homedir ?? osHomedir();
  const warnings: string[] = [];
  const raw: Partial<Record<ServerOptionKey, string>> = {};
  const fromFlag = new Set<ServerOptionKey>();

  for (const [key, spec] of ROWS) {
    if (spec.default !== undefined) raw[key] = spec.default;
    const value =
      (spec.env === null ? undefined : readEnv(env, spec.env, warnings)) ?? readAliases(env, spec.aliases);
    if (value !== undefined) raw[key] = value;
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        ROWS.flatMap(([, s]) =>
          s.flag === null
            ? []
            : [
                [
                  s.flag,
                  {
                    type: s.arg === undefined ? ('boolean' as const) : ('string' as const),
                    multiple: s.repeatable === true,
                  },
                ],
              ],
        ),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', `${(err as Error).message} (see reach-server --help)`);
  }
  for (const [key, spec] of ROWS) {
    if (spec.flag === null) continue;
    const value = parsed.values[spec.flag];
    if (value === undefined) continue;
    fromFlag.add(key);
    // A repeatable flag's values join its comma-separated form.
    raw[key] = Array.isArray(value) ? value.join(',') : String(value);
  }
  for (const [key, spec] of ROWS) {
    const value = raw[key];
    if (spec.path === true && value !== undefined) raw[key] = expandHome(value, home);
  }

  const result = ServerConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const key = issue?.path[0] as ServerOptionKey | undefined;
    const spec = key === undefined ? undefined : SERVER_OPTIONS[key];
    const name = spec === undefined || key === undefined ? String(key) : sourceName(spec, fromFlag.has(key));
    throw new ReachError('INVALID_ARGUMENT', `invalid ${name}: ${issue?.message ?? 'invalid value'}`);
  }
  return { config: result.data, positionals: parsed.positionals, warnings };
}
