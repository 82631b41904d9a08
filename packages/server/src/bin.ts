#!/usr/bin/env node
import { runCli } from './commands/cli.ts';

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
