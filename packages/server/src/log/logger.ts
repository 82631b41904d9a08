import { type DestinationStream, pino } from 'pino';
import { RotatingFile } from './rotating-file.ts';

/** Structured logger; the composition root builds one and hands children to every service. */
export type Logger = pino.Logger;

export interface LogFileOptions {
  path: string;
  maxBytes: number;
  maxFiles: number;
}

/**
 * Field names that must never reach a log, whatever a caller passes: a second line of defence
 * behind "never log a secret, key or file body".
 */
const REDACT = [
  'apiKey',
  'api_key',
  'password',
  'secret',
  'token',
  'authorization',
  'privateKey',
  'private_key',
  'content',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.privateKey',
  '*.private_key',
  '*.content',
];

/**
 * A pino logger writing JSON lines to stderr (fd 2; stdout belongs to MCP stdio), and to a
 * size-rotated file when one is given.
 */
export function createLogger(level: string, destination?: DestinationStream, file?: LogFileOptions): Logger {
  const stderr = destination ?? pino.destination({ dest: 2, sync: true });
  const options = { level, base: { app: 'reach-server' }, redact: { paths: REDACT, censor: '[REDACTED]' } };
  if (!file || level === 'silent') return pino(options, stderr);
  const rotating = new RotatingFile(file.path, file);
  return pino(
    options,
    pino.multistream([
      { level: level as pino.Level, stream: stderr },
      { level: level as pino.Level, stream: rotating },
    ]),
  );
}
