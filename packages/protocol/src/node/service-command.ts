import { resolve } from 'node:path';

/**
 * V8 flags a Reach process run as a service starts with: the young generation capped at 1 MiB
 * semi-spaces. Measured side by side with bench:soak --memory-breakdown (14–15 min, ~80,000 calls
 * each, same machine, same time): without it a busy client's committed heap grew to 91+ MiB around
 * ~22 MiB of live objects and its RSS went 142.6 → 207.0 MiB after the warm-up (+231 MiB/h); with
 * it 118.6 → 115.1 MiB, run_command p50 equal and p99 lower. The server under the same load held
 * ~200 MiB instead of ~347 (idle 105 instead of 133), call latency unchanged. The single
 * executables carry the same flags in their execArgv (scripts/release.ts), the Docker image in its
 * ENTRYPOINT.
 */
export const SERVICE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/**
 * The command line that runs this very process again, for a unit or a task: the executable itself
 * (a single executable, whose flags are baked in), or node, SERVICE_V8_FLAGS that its own command
 * line does not already set (the operator's own value wins), its flags and its script.
 */
export function serviceCommand(
  argv: readonly string[] = process.argv,
  execArgv: readonly string[] = process.execArgv,
  execPath: string = process.execPath,
): string[] {
  const script = argv[1];
  if (script === undefined || resolve(script) === execPath) return [execPath];
  const name = (flag: string) => flag.split('=')[0];
  const missing = SERVICE_V8_FLAGS.filter((f) => !execArgv.some((a) => name(a) === name(f)));
  return [execPath, ...missing, ...execArgv, resolve(script)];
}
