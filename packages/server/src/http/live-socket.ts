import type { WebSocket } from 'ws';
import type { LiveEvents } from '../operations/live-events.ts';
import type { WsRoute } from './ws-upgrade.ts';

/**
 * 4 MiB of unsent frames per socket (a metrics sample is ~250 bytes, so ~16,000 events): a
 * browser that falls that far behind is closed with 1013 (try again later) and reconnects,
 * rather than making the server hold an unbounded queue for it.
 */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** A ping every 25 s keeps proxies from closing an idle socket; two missed pongs end it. */
const PING_MS = 25_000;

/** `WS /ws`: every live event (operations.events), as one JSON text frame each. */
export function liveSocketRoute(events: LiveEvents, maxBufferedBytes = MAX_BUFFERED_BYTES): WsRoute {
  return {
    path: /^\/ws$/,
    open(ws: WebSocket) {
      let alive = true;
      ws.on('pong', () => {
        alive = true;
      });
      const ping = setInterval(() => {
        if (!alive) {
          ws.terminate();
          return;
        }
        alive = false;
        ws.ping();
      }, PING_MS);
      ping.unref();
      const unsubscribe = events.subscribe((event) => {
        if (ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > maxBufferedBytes) {
          unsubscribe();
          ws.close(1013, 'too far behind; reconnect');
          return;
        }
        ws.send(JSON.stringify(event));
      });
      // Browser → server frames carry nothing today; they are ignored.
      ws.on('close', () => {
        clearInterval(ping);
        unsubscribe();
      });
    },
  };
}
