import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log/logger.ts';
import { realTimers, type Timers } from '../timers.ts';
import { BoundedEventStore } from './event-store.ts';
import { JsonCalls, wantsJsonResponse } from './json-call.ts';
import type { McpEndpointFactory } from './mcp-server.ts';
import { McpSession } from './mcp-session.ts';
import {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_MAX_SESSIONS_PER_KEY,
  type SessionEndReason,
  SessionTable,
} from './session-table.ts';

type Live = { server: Server; owner: string } & (
  | { kind: 'streamable'; transport: WebStandardStreamableHTTPServerTransport; json: JsonCalls }
  | { kind: 'sse'; transport: SSEServerTransport }
);

export interface McpHttpOptions {
  /** Sessions held at once (both transports); a new one past it replaces the least recently used. */
  maxSessions?: number;
  /** Sessions one API key holds; its next one replaces its own least recently used. */
  maxSessionsPerKey?: number;
  /** A session with no request for this long is closed. Milliseconds. */
  idleTimeoutMs?: number;
  /** Milliseconds clock and timers (tests inject both). */
  now?: () => number;
  timers?: Timers;
  log?: Logger;
}

/** What /health reports about MCP sessions. */
export interface McpSessionStats {
  sessions: number;
  /** Since start: sessions closed for idleness, and sessions that gave up their slot to a new one. */
  expired: number;
  evicted: number;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/**
 * `response` with a body that calls `end` once it is fully sent or the caller goes away, so a
 * session with a tool call or an event stream in progress never counts as idle.
 */
function endWhenSent(response: Response, end: () => void): Response {
  const body = response.body;
  if (body === null) {
    end();
    return response;
  }
  const reader = body.getReader();
  const tracked = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          end();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        end();
        controller.error(err);
      }
    },
    cancel(reason) {
      end();
      return reader.cancel(reason);
    },
  });
  return new Response(tracked, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/**
 * The MCP HTTP transports, framework-agnostic: Streamable HTTP (current spec, with sessions) on
 * web-standard Request/Response, and the legacy SSE pair on node's req/res. Sessions of both
 * live in one bounded table: idle ones expire, a full table (or key) gives the least recently
 * used slot to the newcomer, and a session answers only the API key that opened it.
 */
export class McpHttpEndpoints {
  readonly #factory: McpEndpointFactory;
  readonly #table: SessionTable<Live>;
  readonly #timers: Timers;
  readonly #sweepMs: number;
  readonly #stats = { expired: 0, evicted: 0 };
  #sweepTimer: unknown;
  #closed = false;

  constructor(factory: McpEndpointFactory, options: McpHttpOptions = {}) {
    this.#factory = factory;
    this.#timers = options.timers ?? realTimers;
    const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    // Requests sweep too; the timer only returns an idle server's memory, so a minute is plenty.
    this.#sweepMs = Math.min(60_000, Math.max(1000, idleTimeoutMs / 2));
    const log = options.log;
    this.#table = new SessionTable<Live>(
      {
        maxSessions: options.maxSessions ?? DEFAULT_MAX_SESSIONS,
        maxPerOwner: options.maxSessionsPerKey ?? DEFAULT_MAX_SESSIONS_PER_KEY,
        idleTimeoutMs,
        ...(options.now === undefined ? {} : { now: options.now }),
        onEnd: (id: string, owner: string, reason: SessionEndReason) => {
          if (reason === 'idle') this.#stats.expired++;
          if (reason === 'evicted') this.#stats.evicted++;
          // debug: a flood of abandoned sessions must not become a flood of log lines.
          log?.debug({ mcpSession: id, owner, reason }, 'mcp session ended');
        },
      },
      (live) => {
        if (live.kind === 'streamable') live.json.close().catch(() => {});
        live.server.close().catch(() => {});
      },
    );
  }

  get sessionCount(): number {
    return this.#table.size;
  }

  stats(): McpSessionStats {
    return { sessions: this.#table.size, ...this.#stats };
  }

  /** Sessions `owner` holds now. */
  sessionsOf(owner: string): number {
    return this.#table.countFor(owner);
  }

  /**
   * Streamable HTTP: POST/GET/DELETE /mcp. `owner` names the API key the request carried; the
   * request body is already bounded and buffered (see http/body-limit.ts).
   */
  async handleStreamable(request: Request, owner: string): Promise<Response> {
    this.#table.sweep();
    const sessionId = request.headers.get('mcp-session-id');
    if (sessionId) {
      const live = this.#table.get(sessionId);
      // Another key's session is as unknown to this caller as an expired one.
      if (live?.kind !== 'streamable' || live.owner !== owner) {
        return jsonRpcError(404, -32001, 'unknown or expired MCP session');
      }
      const end = this.#table.begin(sessionId) ?? (() => {});
      try {
        if (request.method !== 'POST') return endWhenSent(await live.transport.handleRequest(request), end);
        let posted: unknown;
        try {
          posted = await request.json();
        } catch {
          end();
          return jsonRpcError(400, -32700, 'request body is not valid JSON');
        }
        // A call that asked for no progress is answered as plain JSON (json-call.ts), and its
        // cancellation goes to where it runs; everything else takes the session's SSE transport.
        if (wantsJsonResponse(posted)) return endWhenSent(await live.json.answer(request, posted), end);
        if (live.json.inFlight > 0 && live.json.cancel(posted)) {
          end();
          return new Response(null, { status: 202 });
        }
        return endWhenSent(await live.transport.handleRequest(request, { parsedBody: posted }), end);
      } catch (err) {
        end();
        throw err;
      }
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
    const session = new McpSession(randomUUID());
    const server = this.#factory.create(session);
    const json = new JsonCalls(() => this.#factory.create(session));
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => session.id,
      // Streamed calls (with a progress token) can be resumed with Last-Event-ID while this
      // process lives; event-store.ts bounds what is kept.
      eventStore: new BoundedEventStore(),
      onsessioninitialized: (id) => {
        this.#table.add(id, owner, { kind: 'streamable', transport, json, server, owner });
        this.#startSweeping();
      },
      onsessionclosed: (id) => {
        this.#table.delete(id);
      },
    });
    transport.onclose = () => {
      this.#table.delete(session.id);
      json.close().catch(() => {});
    };
    await server.connect(transport);
    const response = await transport.handleRequest(request, { parsedBody: body });
    const end = this.#table.begin(session.id);
    if (end === undefined) {
      // Refused before a session existed (bad Accept header…): nothing holds the server.
      await server.close();
      return response;
    }
    return endWhenSent(response, end);
  }

  /** Legacy SSE: GET /sse opens the event stream; its `endpoint` event names the POST URL. */
  async openSse(res: ServerResponse, postPath: string, owner: string): Promise<void> {
    const transport = new SSEServerTransport(postPath, res);
    const id = transport.sessionId;
    const server = this.#factory.create(new McpSession(id));
    this.#table.add(id, owner, { kind: 'sse', transport, server, owner });
    this.#startSweeping();
    // The open event stream is the session's life: in use while it lasts, gone when it closes.
    const end = this.#table.begin(id);
    transport.onclose = () => {
      end?.();
      this.#table.delete(id);
    };
    res.on('close', () => {
      end?.();
      this.#table.delete(id);
      server.close().catch(() => {});
    });
    await server.connect(transport);
  }

  /** Legacy SSE: POST /messages?sessionId=… carries one JSON-RPC message, already parsed. */
  async postSse(
    req: IncomingMessage,
    res: ServerResponse,
    sessionId: string | undefined,
    owner: string,
    message: unknown,
  ): Promise<void> {
    this.#table.sweep();
    const live = sessionId ? this.#table.get(sessionId) : undefined;
    if (!sessionId || live?.kind !== 'sse' || live.owner !== owner) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: 'INVALID_ARGUMENT', message: 'unknown or expired SSE session' }));
      return;
    }
    const end = this.#table.begin(sessionId);
    try {
      await live.transport.handlePostMessage(req, res, message);
    } finally {
      end?.();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sweepTimer !== undefined) this.#timers.clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
    await Promise.allSettled(this.#table.clear().map((l) => l.server.close()));
  }

  #startSweeping(): void {
    if (this.#sweepTimer !== undefined || this.#closed) return;
    this.#sweepTimer = this.#timers.setTimeout(() => {
      this.#sweepTimer = undefined;
      this.#table.sweep();
      if (this.#table.size > 0) this.#startSweeping();
    }, this.#sweepMs);
  }
}
