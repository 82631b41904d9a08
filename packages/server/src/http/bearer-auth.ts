import { createHash, timingSafeEqual } from 'node:crypto';
import { ReachError } from '@reach/protocol';
import type { MiddlewareHandler } from 'hono';

/** Query parameter names that look like a credential; a request carrying one is refused outright. */
const CREDENTIAL_PARAMS = ['api_key', 'apikey', 'api-key', 'key', 'token', 'access_token', 'auth'];

/** Who the caller is when no API key is configured (loopback only). */
export const ANONYMOUS = 'anonymous';

/** The context variable bearerAuth sets: the caller's key id (`key:<12 hex>`) or ANONYMOUS. */
export interface AuthVariables {
  keyId: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** A stable name for a key that reveals nothing usable: the first 48 bits of its SHA-256. */
export function keyIdOf(key: string): string {
  return `key:${digest(key).toString('hex').slice(0, 12)}`;
}

/** UNAUTHORIZED (401); the app's error handler adds `WWW-Authenticate` (RFC 6750 §3). */
function unauthorized(message: string): ReachError {
  return new ReachError('UNAUTHORIZED', message);
}

/**
 * Checks one request's credentials: `Authorization: Bearer <key>` against every configured key,
 * each compared in constant time (both sides hashed to equal length first, every key tried).
 * Keys are never taken from a query string: a request whose query has a credential-like
 * parameter name, or any parameter name or value equal to a configured key, is refused even if
 * its header is right — the key is then in someone's access log, and the caller should learn
 * that now, not later. Returns the caller's key id, or ANONYMOUS when no key is configured;
 * throws UNAUTHORIZED. Shared by the middleware and the WebSocket upgrade check.
 */
export function bearerKeyCheck(
  apiKeys: readonly string[],
): (authorization: string | undefined, query: URLSearchParams) => string {
  const expected = apiKeys.map((k) => ({ digest: digest(k), id: keyIdOf(k) }));
  const matches = (value: string): string | undefined => {
    const d = digest(value);
    let found: string | undefined;
    for (const e of expected) if (timingSafeEqual(d, e.digest)) found ??= e.id;
    return found;
  };
  return (authorization, query) => {
    for (const [name, value] of query) {
      if (CREDENTIAL_PARAMS.includes(name.toLowerCase()) || matches(name) || matches(value)) {
        throw unauthorized('API keys are not accepted in the query string; use the Authorization header');
      }
    }
    if (expected.length === 0) return ANONYMOUS;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw unauthorized('missing bearer token');
    const keyId = matches(match[1]!);
    if (keyId === undefined) throw unauthorized('invalid API key');
    return keyId;
  };
}

/** The bearer check (bearerKeyCheck) as Hono middleware; sets `keyId`. */
export function bearerAuth(apiKeys: readonly string[]): MiddlewareHandler<{ Variables: AuthVariables }> {
  const check = bearerKeyCheck(apiKeys);
  return async (c, next) => {
    c.set('keyId', check(c.req.header('authorization'), new URL(c.req.url).searchParams));
    return next();
  };
}
