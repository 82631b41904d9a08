import { main } from './main.ts';

/**
 * Runs the command line of this process: bin.ts calls it, and so does the installed command
 * (bin/reach.mjs), which imports this module rather than bin.ts so that every module it loads
 * can be warmed into the compile cache beforehand (importing has no effect of its own).
 */
export function start(): void {
  // Signal handling lives here only: the first SIGINT/SIGTERM asks main to close, a second forces exit.
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(130);
    process.stderr.write(`reach: ${sig} received, closing\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // No top-level await: the single executable's main is a CommonJS bundle, where it is a syntax error.
  void main(process.argv.slice(2), { signal: stop.signal }).then((code) => {
    process.exitCode = code;
    // Whatever still holds the event loop (a socket in teardown) gets a moment, not forever.
    setTimeout(() => process.exit(code), 2000).unref();
  });
}
