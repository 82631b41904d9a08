import type { ServerConfig } from './config/server-config.ts';
import type { Logger } from './log/logger.ts';
import type { ServerServices } from './main.ts';

/** A started transport set (MCP stdio / HTTP); closed first on shutdown. */
export interface Transports {
  close(): Promise<void>;
}

/**
 * LEAD: start MCP (stdio or Streamable HTTP/SSE) and the HTTP API here from `services`, according
 * to `config.transport`. Called by startServer() after the SSH server listens. Stub for now.
 */
export async function startTransports(
  _services: ServerServices,
  _config: ServerConfig,
  _log: Logger,
): Promise<Transports> {
  return { close: async () => {} };
}
