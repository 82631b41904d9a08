import { type DestinationStream, pino } from 'pino';

/** Structured logger; every module receives one (or a child) from the composition root. */
export type Logger = pino.Logger;

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Maps the reference's level names (INFO, WARNING, …) to pino's; unknown names fall back to info. */
export function normaliseLevel(level: string): string {
  const lower = level.toLowerCase();
  if (lower === 'warning') return 'warn';
  if (lower === 'critical') return 'fatal';
  return LEVELS.has(lower) ? lower : 'info';
}

/**
 * A pino logger writing JSON lines to stderr (stdout belongs to command output). Callers must never
 * pass secrets, keys or file bodies as log fields.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level: normaliseLevel(level), base: { app: 'reach' } },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );
}
