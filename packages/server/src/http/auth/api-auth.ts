import type { IncomingMessage } from 'node:http';
import { ReachError } from '@reach/protocol';
import type { MiddlewareHandler } from 'hono';
import { ANONYMOUS, bearerToken, refuseQueryKeys } from '../bearer-auth.ts';
import type { KeyMatcher } from './key-matcher.ts';
import type { Session, SessionStore } from './session-store.ts';

export const SESSION_COOKIE = 'reach_session';

/** What the /api routes know of their caller. */
export interface ApiCaller {
  /** `http:<key id>` (bearer), `ui:<12 hex>` (cookie), `http:anonymous` (no key configured). */
  caller: string;
  /** The cookie session, when the caller came with one. */
  session?: Session;
  /** The cookie's value, to revoke it (DELETE /api/session). */
  sessionId?: string;
}

export type ApiAuthVariables = { apiCaller: ApiCaller; keyId: string };

export interface ApiAuthDeps {
  matches: KeyMatcher;
  /** No key configured (loopback only): /api is open. */
  open: boolean;
  sessions: SessionStore;
  /** Host header values that name this server (loopback names, --allowed-hosts). */
  allowedHosts: () => readonly string[];
}

interface RequestHeads {
  url: string;
  method: string;
  header(name: string): string | undefined;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function cookieOf(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * The same-origin rule for browser requests: the Host must name this server and the Origin
 * must name that same host. A cross-site page can make a browser send the cookie, never a
 * forged Origin, so this is what stops CSRF and cross-site WebSocket hijacking.
 */
function checkOrigin(req: RequestHeads, deps: ApiAuthDeps, required: boolean): void {
  const host = (req.header('host') ?? '').toLowerCase();
  const allowed = new Set(deps.allowedHosts().map((h) => h.toLowerCase()));
  if (!allowed.has(host))
    throw new ReachError('PERMISSION_DENIED', `host ${host || '(none)'} is not allowed`);
  const origin = req.header('origin');
  if (origin === undefined) {
    if (required)
      throw new ReachError('PERMISSION_DENIED', 'a request with the session cookie needs an Origin');
    return;
  }
  let originHost: string;
  try {
    originHost = new URL(origin).host.toLowerCase();
  } catch {
    throw new ReachError('PERMISSION_DENIED', 'malformed Origin header');
  }
  if (originHost !== host)
    throw new ReachError('PERMISSION_DENIED', `origin ${origin.slice(0, 200)} is not this server`);
}

/**
 * Who is calling, from the request's head: `Authorization: Bearer <key>` or the session
 * cookie; never a key in the query string. `upgrade`: a WebSocket handshake, which must pass
 * the Origin check whatever authenticates it (a browser always sends Origin there).
 */
export function authenticate(req: RequestHeads, deps: ApiAuthDeps, upgrade = false): ApiCaller {
  refuseQueryKeys(req.url, deps.matches);
  const token = bearerToken(req.header('authorization'));
  const sessionId = cookieOf(req.header('cookie'));
  const browser = sessionId !== undefined && token === undefined;
  const mutating = MUTATING.has(req.method.toUpperCase());
  // An Origin, whenever a browser sends one, must be ours; a cookie mutation or upgrade must
  // carry one. With no key configured every request is held to the Host check too: there a
  // cross-site page (a simple text/plain POST) or a DNS-rebound name is all an attacker needs.
  if (upgrade || deps.open || req.header('origin') !== undefined || (browser && mutating)) {
    checkOrigin(req, deps, browser && (mutating || upgrade));
  }
  if (token !== undefined) {
    const keyId = deps.matches(token);
    if (keyId !== undefined) return { caller: `http:${keyId}` };
    if (!deps.open) throw new ReachError('UNAUTHORIZED', 'invalid API key');
  }
  if (sessionId !== undefined) {
    const session = deps.sessions.get(sessionId);
    if (session) return { caller: session.caller, session, sessionId };
    if (!deps.open) {
      throw new ReachError('UNAUTHORIZED', 'the session is unknown or expired', {
        recoveryHint: 'sign in again (POST /api/session)',
      });
    }
  }
  if (deps.open) return { caller: `http:${ANONYMOUS}` };
  throw new ReachError('UNAUTHORIZED', 'missing bearer token or session cookie', {
    recoveryHint: 'send Authorization: Bearer <key>, or sign in (POST /api/session)',
  });
}

/** The /api middleware: sets `apiCaller`. `public` paths (sign-in) skip it. */
export function apiAuth(
  deps: ApiAuthDeps,
  isPublic: (method: string, path: string) => boolean,
): MiddlewareHandler<{ Variables: ApiAuthVariables }> {
  return async (c, next) => {
    if (isPublic(c.req.method, c.req.path)) {
      refuseQueryKeys(c.req.url, deps.matches);
      return next();
    }
    const who = authenticate({ url: c.req.url, method: c.req.method, header: (n) => c.req.header(n) }, deps);
    c.set('apiCaller', who);
    c.set('keyId', who.session?.keyId ?? who.caller.slice('http:'.length));
    return next();
  };
}

/** For attachWebSockets: the same checks on an upgrade request, answering the caller. */
export function upgradeAuthorizer(deps: ApiAuthDeps): (req: IncomingMessage) => string {
  return (req) =>
    authenticate(
      {
        url: req.url ?? '/',
        method: req.method ?? 'GET',
        header: (n) => {
          const v = req.headers[n.toLowerCase()];
          return Array.isArray(v) ? v[0] : v;
        },
      },
      deps,
      true,
    ).caller;
}
