import { randomUUID } from 'node:crypto';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { McpEndpointFactory } from './mcp-server.ts';
import { McpSession } from './mcp-session.ts';

/** MCP over this process's stdin/stdout (what Claude Code launches): exactly one session. */
export class StdioEndpoint {
  readonly #factory: McpEndpointFactory;
  #close: (() => Promise<void>) | undefined;

  constructor(factory: McpEndpointFactory) {
    this.#factory = factory;
  }

  /** Resolves once connected; `onClosed` fires when stdin ends (the MCP host went away). */
  async start(onClosed: () => void): Promise<void> {
    const server = this.#factory.create(new McpSession(`stdio-${randomUUID()}`));
    const transport = new StdioServerTransport();
    server.onclose = onClosed;
    process.stdin.once('end', onClosed);
    await server.connect(transport);
    this.#close = () => server.close();
  }

  async close(): Promise<void> {
    const close = this.#close;
    this.#close = undefined;
    await close?.();
  }
}
