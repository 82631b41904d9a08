import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

/** Query parameters that look like a credential; a request carrying one is refused outright. */
const CREDENTIAL_PARAMS = ['api_key', 'apikey', 'api-key', 'key', 'token', 'access_token', 'auth'];

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function unauthorized(message: string): Response {
  return new Response(JSON.stringify({ error: 'UNAUTHORIZED', message }), {
    status: 401,
    headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="reach"' },
  });
}

/**
 * `Authorization: Bearer <key>` with a constant-time comparison (both sides hashed to equal
 * length first). Keys are never taken from a query string: a request that puts one there is
 * refused even if its header is right, so the key does not end up in access logs.
 */
export function bearerAuth(apiKey: string | undefined): MiddlewareHandler {
  const expected = apiKey === undefined ? undefined : digest(apiKey);
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (CREDENTIAL_PARAMS.some((p) => url.searchParams.has(p))) {
      return unauthorized('API keys are not accepted in the query string; use the Authorization header');
    }
    if (expected === undefined) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return unauthorized('missing bearer token');
    if (!timingSafeEqual(digest(match[1]!), expected)) return unauthorized('invalid API key');
    return next();
  };
}
