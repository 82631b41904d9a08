import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { BoundedEventStore } from './event-store.ts';
import { JsonCalls, wantsJsonResponse } from './json-call.ts';
import type { McpEndpointFactory } from './mcp-server.ts';
import { McpSession } from './mcp-session.ts';

interface Live {
  server: Server;
  close(): Promise<void>;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/**
 * The MCP HTTP transports, framework-agnostic: Streamable HTTP (current spec, with sessions) on
 * web-standard Request/Response, and the legacy SSE pair on node's req/res. Sessions are bounded.
 */
export class McpHttpEndpoints {
  readonly #factory: McpEndpointFactory;
  readonly #maxSessions: number;
  readonly #streamable = new Map<
    string,
    { transport: WebStandardStreamableHTTPServerTransport; json: JsonCalls } & Live
  >();
  readonly #sse = new Map<string, { transport: SSEServerTransport } & Live>();

  constructor(factory: McpEndpointFactory, options: { maxSessions?: number } = {}) {
    this.#factory = factory;
    this.#maxSessions = options.maxSessions ?? 1000;
  }

  get sessionCount(): number {
    return this.#streamable.size + this.#sse.size;
  }

  /** Streamable HTTP: POST/GET/DELETE /mcp. */
  async handleStreamable(request: Request): Promise<Response> {
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const live = this.#streamable.get(sessionId);
      if (!live) return jsonRpcError(404, -32001, 'unknown or expired MCP session');
      if (request.method !== 'POST') return live.transport.handleRequest(request);
      let posted: unknown;
      try {
        posted = await request.json();
      } catch {
        return jsonRpcError(400, -32700, 'request body is not valid JSON');
      }
      // A call that asked for no progress is answered as plain JSON (json-call.ts), and its
      // cancellation goes to where it runs; everything else takes the session's SSE transport.
      if (wantsJsonResponse(posted)) return live.json.answer(request, posted);
      if (live.json.inFlight > 0 && live.json.cancel(posted)) return new Response(null, { status: 202 });
      return live.transport.handleRequest(request, { parsedBody: posted });
    }
    if (request.method !== 'POST') return jsonRpcError(400, -32000, 'mcp-session-id header required');
    let body: unknown;
    try {
      body = await request.json();
    } catch {
      return jsonRpcError(400, -32700, 'request body is not valid JSON');
    }
    if (!isInitializeRequest(body)) {
      return jsonRpcError(400, -32000, 'first request of a session must be initialize');
    }
    if (this.sessionCount >= this.#maxSessions) {
      return jsonRpcError(503, -32000, `too many MCP sessions (limit ${this.#maxSessions})`);
    }
    const session = new McpSession(randomUUID());
    const server = this.#factory.create(session);
    const json = new JsonCalls(() => this.#factory.create(session));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => session.id,
      // Streamed calls (with a progress token) can be resumed with Last-Event-ID while this
      // process lives; event-store.ts bounds what is kept.
      eventStore: new BoundedEventStore(),
      onsessioninitialized: (id) => {
        this.#streamable.set(id, {
          transport,
          json,
          server,
          close: async () => {
            await json.close();
            await server.close();
          },
        });
      },
      onsessionclosed: (id) => {
        this.#streamable.delete(id);
      },
    });
    transport.onclose = () => {
      this.#streamable.delete(session.id);
      json.close().catch(() => {});
    };
    await server.connect(transport);
    return transport.handleRequest(request, { parsedBody: body });
  }

  /** Legacy SSE: GET /sse opens the event stream; its `endpoint` event names the POST URL. */
  async openSse(res: ServerResponse, postPath: string): Promise<void> {
    if (this.sessionCount >= this.#maxSessions) {
      res
        .writeHead(503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'CONNECTION_ERROR', message: 'too many MCP sessions' }));
      return;
    }
    const transport = new SSEServerTransport(postPath, res);
    const server = this.#factory.create(new McpSession(transport.sessionId));
    this.#sse.set(transport.sessionId, { transport, server, close: () => server.close() });
    transport.onclose = () => {
      this.#sse.delete(transport.sessionId);
    };
    res.on('close', () => {
      this.#sse.delete(transport.sessionId);
      server.close().catch(() => {});
    });
    await server.connect(transport);
  }

  /** Legacy SSE: POST /messages?sessionId=… carries one JSON-RPC message. */
  async postSse(req: IncomingMessage, res: ServerResponse, sessionId: string | undefined): Promise<void> {
    const live = sessionId ? this.#sse.get(sessionId) : undefined;
    if (!live) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'INVALID_ARGUMENT', message: 'unknown or expired SSE session' }));
      return;
    }
    await live.transport.handlePostMessage(req, res);
  }

  async close(): Promise<void> {
    const all = [...this.#streamable.values(), ...this.#sse.values()];
    this.#streamable.clear();
    this.#sse.clear();
    await Promise.allSettled(all.map((l) => l.close()));
  }
}
