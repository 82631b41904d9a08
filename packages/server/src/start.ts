import { runCli } from './commands/cli.ts';

/**
 * Runs the command line of this process: bin.ts calls it, and so does the installed command
 * (bin/reach-server.mjs), which imports this module rather than bin.ts so that every module it
 * loads can be warmed into the compile cache beforehand (importing has no effect of its own).
 */
export function start(): void {
  // Signal handling lives here only: the first SIGINT/SIGTERM asks the command to close, a second forces exit.
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals += 1;
    if (signals > 1) process.exit(130);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // No top-level await: the single executable's main is CommonJS, where it is a syntax error.
  void runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: stop.signal,
  }).then((code) => process.exit(code));
}
