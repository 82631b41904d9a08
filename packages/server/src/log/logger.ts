import { type DestinationStream, pino } from 'pino';

/** Structured logger; the composition root builds one and hands children to every service. */
export type Logger = pino.Logger;

/**
 * A pino logger writing JSON lines to stderr (fd 2): stdout belongs to MCP stdio. Callers must never
 * pass secrets, key material or file bodies as log fields.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, base: { app: 'reach-server' } },
    destination ?? pino.destination({ dest: 2, sync: true }),
  );
}
