/**
 * Restart storms: a server turning a connection away tells the client when to come back, and
 * tells every client at registration how wide a window its first retry after a lost link should
 * be spread over. Both grow with the fleet, so N clients reconnect at about the rate the server
 * can take handshakes instead of all at once (the failure Teleport #6889 and rport's tuning guide
 * describe).
 *
 * The hint travels as a line before the SSH identification string, which RFC 4253 §4.2 allows
 * ("other lines of data MAY be sent before the version string"); OpenSSH clients ignore it.
 */

const KEY = 'reach-retry-after-ms=';

/** Handshakes (curve25519 + ed25519) a server takes per second, conservatively (2-core VM). */
export const STORM_HANDSHAKES_PER_S = 200;
const MIN_WINDOW_MS = 1_000;
const MAX_WINDOW_MS = 120_000;

/** The window a fleet of `clients` spreads its reconnects over: clients / rate, 1–120 s. */
export function reconnectWindowMs(clients: number): number {
  const ms = Math.ceil((Math.max(0, clients) / STORM_HANDSHAKES_PER_S) * 1000);
  return Math.min(MAX_WINDOW_MS, Math.max(MIN_WINDOW_MS, ms));
}

/**
 * When a server turned a connection away tells it to come back: at a random point (20–100 %) of
 * the window its backlog needs, the clients it knows of that are not online yet at the handshake
 * rate, not of the whole fleet's window. A client turned away late in a storm then comes back
 * soon after the rest, instead of up to a full window after being turned away: bench:storm, 10,000
 * clients, the whole-fleet hint (10–50 s at any point) had the last one back at 66.6–81.1 s.
 */
export function backlogRetryMs(known: number, online: number, random: () => number = Math.random): number {
  return Math.round((0.2 + 0.8 * random()) * reconnectWindowMs(Math.max(0, known - online)));
}

/** The line a server sends a connection it turns away, then closes it. */
export function retryHintLine(ms: number): string {
  return `reach: server busy, come back later; ${KEY}${Math.max(0, Math.round(ms))}\r\n`;
}

/** The retry delay in what a server sent before closing, if it sent a hint (bounded: 120 s). */
export function parseRetryHint(preamble: string): number | undefined {
  const at = preamble.indexOf(KEY);
  if (at < 0) return undefined;
  const n = Number.parseInt(preamble.slice(at + KEY.length, at + KEY.length + 10), 10);
  return Number.isSafeInteger(n) && n >= 0 ? Math.min(n, MAX_WINDOW_MS) : undefined;
}
