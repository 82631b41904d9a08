import type { LiveEvent } from '../api/types.ts';
import { refreshSession } from '../auth/auth-state.svelte.ts';
import { LiveSocket, type LiveState } from './live-socket.ts';

/**
 * A started `WS /ws` for a page: when an upgrade is refused, the session is checked, so an
 * expired or revoked one sends the user to sign-in instead of retrying forever.
 */
export function openLiveFeed(onEvent: (e: LiveEvent) => void, onState?: (s: LiveState) => void): LiveSocket {
  const socket = new LiveSocket({
    onEvent,
    ...(onState ? { onState } : {}),
    onRefused: () => {
      refreshSession().catch(() => {
        // the server is unreachable: the socket keeps retrying with backoff
      });
    },
  });
  socket.start();
  return socket;
}
