import { ReachError } from '@reach/protocol';
import type { MiddlewareHandler } from 'hono';

/**
 * DNS-rebinding guard for the MCP endpoints: the Host header must name this server (a loopback
 * name or an allowed host), and a browser's Origin, when sent, must name the same.
 */
export function hostCheck(allowedHosts: () => readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    checkHostAndOrigin(allowedHosts(), c.req.header('host'), c.req.header('origin'));
    return next();
  };
}

/**
 * The host check for one request: Host must be allowed, and an Origin, when sent, must name an
 * allowed host — with `sameOrigin`, exactly the Host the request was sent to (WebSocket upgrades:
 * a browser always sends Origin there). Throws PERMISSION_DENIED.
 */
export function checkHostAndOrigin(
  allowedHosts: readonly string[],
  hostHeader: string | undefined,
  origin: string | undefined,
  opts: { sameOrigin?: boolean } = {},
): void {
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  const host = (hostHeader ?? '').toLowerCase();
  if (!allowed.has(host)) {
    throw new ReachError('PERMISSION_DENIED', `host ${host || '(none)'} is not allowed`);
  }
  if (origin === undefined) return;
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    throw new ReachError('PERMISSION_DENIED', 'malformed Origin header');
  }
  if (!allowed.has(originHost) || (opts.sameOrigin === true && originHost !== host)) {
    throw new ReachError('PERMISSION_DENIED', `origin ${origin} is not allowed`);
  }
}

/** Host header values that name a server bound to `host:port`. */
export function defaultAllowedHosts(host: string, port: number, extra: readonly string[] = []): string[] {
  const names = new Set([
    'localhost',
    '127.0.0.1',
    '[::1]',
    host.includes(':') ? `[${host}]` : host,
    ...extra,
  ]);
  return [...names].flatMap((n) => (n.includes(':') && !n.startsWith('[') ? [n] : [n, `${n}:${port}`]));
}
