import { ReachError } from '@reach/protocol';
import type { MiddlewareHandler } from 'hono';
import { type KeyMatcher, keyIdOf, keyMatcher } from './auth/key-matcher.ts';

export { keyIdOf };

/** Query parameter names that look like a credential; a request carrying one is refused outright. */
const CREDENTIAL_PARAMS = ['api_key', 'apikey', 'api-key', 'key', 'token', 'access_token', 'auth'];

/** Who the caller is when no API key is configured (loopback only). */
export const ANONYMOUS = 'anonymous';

/** The context variable bearerAuth sets: the caller's key id (`key:<12 hex>`) or ANONYMOUS. */
export interface AuthVariables {
  keyId: string;
}

/** UNAUTHORIZED (401); the app's error handler adds `WWW-Authenticate` (RFC 6750 §3). */
function unauthorized(message: string): ReachError {
  return new ReachError('UNAUTHORIZED', message);
}

/**
 * `Authorization: Bearer <key>` against every configured key, each compared in constant time
 * (both sides hashed to equal length first, every key tried). Keys are never taken from a query
 * string: a request whose query has a credential-like parameter name, or any parameter name or
 * value equal to a configured key, is refused even if its header is right — the key is then in
 * someone's access log, and the caller should learn that now, not later.
 */
export function bearerAuth(apiKeys: readonly string[]): MiddlewareHandler<{ Variables: AuthVariables }> {
  const matches = keyMatcher(apiKeys);
  return async (c, next) => {
    refuseQueryKeys(c.req.url, matches);
    if (apiKeys.length === 0) {
      c.set('keyId', ANONYMOUS);
      return next();
    }
    const token = bearerToken(c.req.header('authorization'));
    if (token === undefined) throw unauthorized('missing bearer token');
    const keyId = matches(token);
    if (keyId === undefined) throw unauthorized('invalid API key');
    c.set('keyId', keyId);
    return next();
  };
}

/** The token of an `Authorization: Bearer <token>` header, if that is what it is. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/**
 * Refuses (401) a URL whose query has a credential-like parameter name, or any parameter name or
 * value equal to a configured key: the key is then in someone's access log.
 */
export function refuseQueryKeys(url: string, matches: KeyMatcher): void {
  const query = new URL(url, 'http://x').searchParams;
  for (const [name, value] of query) {
    if (CREDENTIAL_PARAMS.includes(name.toLowerCase()) || matches(name) || matches(value)) {
      throw unauthorized('API keys are not accepted in the query string; use the Authorization header');
    }
  }
}
