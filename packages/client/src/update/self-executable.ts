import { resolve } from 'node:path';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The file an update replaces: `REACH_UPDATE_EXE` when a launcher names itself (a wrapper script
 * that runs the client bundle), else this process's own executable when it is a single executable
 * (argv[1] is then the executable itself), else none: a client run as `node bin.js` is updated by
 * whoever installed it (npm), not by itself.
 */
export function selfExecutable(env: Env, argv: readonly string[], execPath: string): string | undefined {
  const named = env.REACH_UPDATE_EXE;
  if (named !== undefined && named !== '') return resolve(named);
  const script = argv[1];
  return script === undefined || resolve(script) === execPath ? execPath : undefined;
}

/**
 * The version this process reports: `REACH_BUILD_VERSION` when a launcher-built release sets it
 * (the bundle is then the same file for every version), else package.json's.
 */
export function effectiveVersion(env: Env, packaged: string): string {
  const v = env.REACH_BUILD_VERSION;
  return v !== undefined && /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(v) ? v : packaged;
}

/** Started by systemd (the unit restarts the executable when this process exits). */
export function underSystemd(env: Env): boolean {
  return (env.INVOCATION_ID ?? '') !== '';
}
