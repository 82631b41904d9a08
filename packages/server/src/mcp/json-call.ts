import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** A request this session is answering as plain JSON, so a cancellation can reach it. */
interface Pending {
  transport: WebStandardStreamableHTTPServerTransport;
}

/**
 * Whether a POST body should be answered as one plain JSON response rather than an SSE stream: a
 * single request (not initialize) whose caller asked for no progress (no `_meta.progressToken`).
 * A JSON response is what makes a dead server a connection error at once: the caller's HTTP
 * request fails when the socket closes, while a broken SSE stream leaves the SDK clients waiting
 * for their own timeout (README: "When the server dies mid-call").
 */
export function wantsJsonResponse(body: unknown): body is { id: string | number; method: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const m = body as { id?: unknown; method?: unknown; params?: { _meta?: { progressToken?: unknown } } };
  if ((typeof m.id !== 'string' && typeof m.id !== 'number') || typeof m.method !== 'string') {
    return false;
  }
  return m.method !== 'initialize' && m.params?._meta?.progressToken === undefined;
}

/** The request ids a `notifications/cancelled` body names (one notification or a batch). */
function cancelledIds(body: unknown): Array<string | number> {
  const list = Array.isArray(body) ? body : [body];
  const ids: Array<string | number> = [];
  for (const m of list) {
    const n = m as { method?: unknown; id?: unknown; params?: { requestId?: unknown } };
    const id = n.params?.requestId;
    if (n.method === 'notifications/cancelled' && n.id === undefined) {
      if (typeof id === 'string' || typeof id === 'number') ids.push(id);
    }
  }
  return ids;
}

/**
 * Answers a session's plain-JSON requests. The SDK's Streamable HTTP transport picks JSON or SSE
 * once per transport (`enableJsonResponse`), not per request, so each such request gets a
 * transport and a protocol `Server` of its own — stateless (no session id check: the session's
 * own transport has already authenticated and validated the session id), built from the session's
 * factory over the same McpSession state, and closed when the answer is out. Cheap: the Server holds
 * two handlers and a precomputed tool listing. Cancellation (`notifications/cancelled`, which
 * arrives on the session's POSTs) and the caller dropping the request both abort the tool call.
 */
export class JsonCalls {
  readonly #create: () => Server;
  readonly #pending = new Map<string | number, Pending>();

  constructor(create: () => Server) {
    this.#create = create;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  async answer(request: Request, body: { id: string | number }): Promise<Response> {
    // Two requests with one id in flight at once would be a caller bug; the second goes by SSE.
    const server = this.#create();
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    const entry: Pending = { transport };
    this.#pending.set(body.id, entry);
    const onAbort = () => {
      server.close().catch(() => {});
    };
    request.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await server.connect(transport);
      return await transport.handleRequest(request, { parsedBody: body });
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      if (this.#pending.get(body.id) === entry) this.#pending.delete(body.id);
      server.close().catch(() => {});
    }
  }

  /** Delivers the cancellations in `body` that name a JSON request; true when it named only those. */
  cancel(body: unknown): boolean {
    const ids = cancelledIds(body);
    const list = Array.isArray(body) ? body : [body];
    let all = ids.length === list.length && ids.length > 0;
    for (const id of ids) {
      const p = this.#pending.get(id);
      if (!p) {
        all = false;
        continue;
      }
      const note = list.find(
        (m) => (m as { params?: { requestId?: unknown } }).params?.requestId === id,
      ) as JSONRPCMessage;
      p.transport.onmessage?.(note);
    }
    return all;
  }

  /** Aborts every JSON request still running (the session is closing). */
  async close(): Promise<void> {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    await Promise.allSettled(all.map((p) => p.transport.close()));
  }
}
