import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpHttpEndpoints, McpSessionStats } from './http-endpoints.ts';

/** What the HTTP app needs of the MCP endpoints. */
export type McpHttp = Pick<McpHttpEndpoints, 'handleStreamable' | 'openSse' | 'postSse' | 'stats' | 'close'>;

/**
 * The MCP HTTP endpoints, loaded at the first /mcp, /sse or /messages request instead of at
 * start-up: the MCP SDK's server, its types and its two HTTP transports are ~18 MiB of an idle
 * server's RSS (measured: node + zod 16.7 MiB; + the SDK's types.js 19.9; + server/index.js 29.0;
 * + webStandardStreamableHttp.js and sse.js 34.8), which a server only the web UI, the REST API or
 * its clients talk to never needs. The first MCP request waits for the import once (tens of ms).
 */
export class LazyMcpHttpEndpoints implements McpHttp {
  readonly #load: () => Promise<McpHttpEndpoints>;
  #loading: Promise<McpHttpEndpoints> | undefined;
  #loaded: McpHttpEndpoints | undefined;
  #closed = false;

  constructor(load: () => Promise<McpHttpEndpoints>) {
    this.#load = load;
  }

  /** True once the first MCP request has loaded the endpoints. */
  get loaded(): boolean {
    return this.#loaded !== undefined;
  }

  stats(): McpSessionStats {
    return this.#loaded?.stats() ?? { sessions: 0, expired: 0, evicted: 0 };
  }

  async handleStreamable(request: Request, owner: string): Promise<Response> {
    return (await this.#endpoints()).handleStreamable(request, owner);
  }

  async openSse(res: ServerResponse, postPath: string, owner: string): Promise<void> {
    return (await this.#endpoints()).openSse(res, postPath, owner);
  }

  async postSse(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string | undefined,
    owner: string,
    message: unknown,
  ): Promise<void> {
    return (await this.#endpoints()).postSse(req, res, sessionId, owner, message);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const loading = this.#loading;
    if (loading !== undefined) await (await loading.catch(() => undefined))?.close();
  }

  #endpoints(): Promise<McpHttpEndpoints> {
    if (this.#closed) return Promise.reject(new Error('the MCP endpoints are closed'));
    this.#loading ??= this.#load().then(
      (endpoints) => {
        this.#loaded = endpoints;
        return endpoints;
      },
      (err: unknown) => {
        // A failed import is tried again by the next request, not cached.
        this.#loading = undefined;
        throw err;
      },
    );
    return this.#loading;
  }
}
