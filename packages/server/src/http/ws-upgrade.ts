import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { ReachError, toReachError } from '@reach/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../log/logger.ts';

/** One WebSocket endpoint: a path pattern and what to do with an accepted socket. */
export interface WsRoute {
  /** Matched against the request path (no query); its groups reach `open`. */
  path: RegExp;
  /**
   * Called after the caller was authorized and the upgrade completed. `caller` is what
   * `authorize` returned (e.g. `ui:<session>` or `key:<12 hex>`).
   */
  open(ws: WebSocket, req: IncomingMessage, match: RegExpExecArray, caller: string): void;
}

export interface WsUpgradeDeps {
  /**
   * Decides whether the upgrade may proceed, before the handshake is answered: same checks as
   * the HTTP routes (key or session, Host, Origin). Returns the caller; throws a ReachError.
   */
  authorize(req: IncomingMessage): string;
  routes: readonly WsRoute[];
  /** Largest message a peer may send, in bytes (ws closes the socket with 1009 past it). */
  maxPayloadBytes: number;
  log?: Logger;
}

/**
 * Answers HTTP upgrades on `server`: the path must be a route, the caller authorized, or the
 * socket gets the shared error JSON with its HTTP status and is closed — no WebSocket is ever
 * opened for a refused caller. Returns a function that closes every open socket (shutdown).
 */
export function attachWebSockets(server: Server, deps: WsUpgradeDeps): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: deps.maxPayloadBytes });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => {});
    try {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      let found: { route: WsRoute; match: RegExpExecArray } | undefined;
      for (const route of deps.routes) {
        const match = route.path.exec(path);
        if (match) {
          found = { route, match };
          break;
        }
      }
      if (!found) {
        refuse(
          socket,
          new ReachError('INVALID_ARGUMENT', `no WebSocket endpoint at ${path.slice(0, 200)}`),
          404,
        );
        return;
      }
      const caller = deps.authorize(req);
      const { route, match } = found;
      wss.handleUpgrade(req, socket, head, (ws) => {
        // A peer's protocol error (oversized or malformed frame) closes its socket; it must not
        // become an uncaught exception.
        ws.on('error', (err) => deps.log?.debug({ err: err.message, path }, 'websocket peer error'));
        try {
          route.open(ws, req, match, caller);
        } catch (err) {
          deps.log?.error({ err, path }, 'websocket route failed');
          ws.close(1011, 'internal error');
        }
      });
    } catch (err) {
      refuse(socket, toReachError(err));
    }
  };
  server.on('upgrade', onUpgrade);
  return () => {
    server.off('upgrade', onUpgrade);
    for (const ws of wss.clients) ws.terminate();
    wss.close();
  };
}

/** Writes the shared error JSON (an unknown path: 404, as for HTTP) as a plain HTTP response on the raw socket and closes it. */
function refuse(socket: Duplex, err: ReachError, status = err.httpStatus): void {
  const body = JSON.stringify(err.toJSON());
  const extra = err.code === 'UNAUTHORIZED' ? 'WWW-Authenticate: Bearer realm="reach"\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Refused'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}
