import { backoffDelayMs } from './backoff.ts';

/** The client's own reconnect backoff (config reconnect_delay / max_reconnect_delay). */
export interface RetryPolicy {
  reconnectDelayS: number;
  maxReconnectDelayS: number;
  random?: (() => number) | undefined;
}

/**
 * How long to wait after a connect attempt failed. A server that turned us away said when to come
 * back (`hintedMs`, its retry hint): that, not our own backoff. Until a lost link is back (a server
 * restarting), retries stay spread over the fleet's window (`windowMs`, announced at hello), for at
 * most max(30 s, 3 windows) after the loss: N clients then arrive at about the rate the server
 * takes handshakes, and none backs off far past the moment the server is up again. A refused key
 * and a server down for longer get the exponential backoff. Used by the tunnel and by bench:storm's
 * simulated fleet, so the bench measures this very policy.
 */
export function failedConnectDelayMs(o: {
  policy: RetryPolicy;
  attempt: number;
  hintedMs: number | undefined;
  windowMs: number | undefined;
  lostAt: number | undefined;
  now: number;
  refused: boolean;
}): number {
  if (o.hintedMs !== undefined) return o.hintedMs;
  const inPhase =
    o.lostAt !== undefined && o.windowMs !== undefined && o.now - o.lostAt < Math.max(30_000, 3 * o.windowMs);
  if (inPhase && !o.refused && o.windowMs !== undefined) {
    return Math.floor((o.policy.random ?? Math.random)() * o.windowMs);
  }
  return backoffDelayMs(o.attempt, o.policy.reconnectDelayS, o.policy.maxReconnectDelayS, o.policy.random);
}

/**
 * How long to wait after a link that was up closed: anywhere in the fleet's window (so a server
 * restart does not bring every client back in the same second), or the backoff when no window is
 * known or the link never registered.
 */
export function lostLinkDelayMs(o: {
  policy: RetryPolicy;
  attempt: number;
  established: boolean;
  windowMs: number | undefined;
}): number {
  const window = o.established ? o.windowMs : undefined;
  return window === undefined
    ? backoffDelayMs(o.attempt, o.policy.reconnectDelayS, o.policy.maxReconnectDelayS, o.policy.random)
    : Math.floor((o.policy.random ?? Math.random)() * window);
}
