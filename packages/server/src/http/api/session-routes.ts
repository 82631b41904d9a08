import { ReachError } from '@reach/protocol';
import type { Context } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import { z } from 'zod';
import { SESSION_COOKIE } from '../auth/api-auth.ts';
import type { KeyMatcher } from '../auth/key-matcher.ts';
import type { LoginLimiter } from '../auth/login-limiter.ts';
import type { SessionStore } from '../auth/session-store.ts';
import { type ApiRoute, apiRoute } from './api-route.ts';

export interface SessionRouteDeps {
  sessions: SessionStore;
  matches: KeyMatcher;
  /** No key configured: signing in needs none. */
  open: boolean;
  logins: LoginLimiter;
}

/** Served over HTTPS (directly or, as a proxy says, in front of us): the cookie is Secure. */
function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

function sourceOf(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

const SessionInfo = z.object({
  authenticated: z.literal(true),
  auth_required: z.boolean(),
  expires_at: z.string().nullable().describe('ISO 8601; null: not a cookie session'),
});

/** POST/GET/DELETE /api/session: the browser trades the API key for an HttpOnly cookie. */
export function sessionRoutes(d: SessionRouteDeps): ApiRoute[] {
  return [
    apiRoute({
      method: 'post',
      path: '/session',
      summary: 'Sign in: exchange the API key for the reach_session cookie',
      public: true,
      body: z.object({ api_key: z.string().min(1).max(4096) }),
      response: 'none',
      handler: async ({ body, c }) => {
        d.logins.attempt(sourceOf(c));
        const keyId = d.matches(body.api_key) ?? (d.open ? 'anonymous' : undefined);
        if (keyId === undefined) throw new ReachError('UNAUTHORIZED', 'invalid API key');
        const { id } = d.sessions.create(keyId);
        setCookie(c, SESSION_COOKIE, id, {
          httpOnly: true,
          sameSite: 'Strict',
          path: '/',
          maxAge: Math.floor(d.sessions.ttlMs / 1000),
          secure: isHttps(c),
        });
        return c.body(null, 204);
      },
    }),
    apiRoute({
      method: 'get',
      path: '/session',
      summary: 'The current session (401 without one)',
      response: SessionInfo,
      handler: async ({ caller }) => ({
        authenticated: true as const,
        auth_required: !d.open,
        expires_at: caller.session ? new Date(caller.session.expiresAt).toISOString() : null,
      }),
    }),
    apiRoute({
      method: 'delete',
      path: '/session',
      summary: 'Sign out: revoke the session and clear the cookie',
      response: 'none',
      handler: async ({ caller, c }) => {
        if (caller.sessionId !== undefined) d.sessions.revoke(caller.sessionId);
        deleteCookie(c, SESSION_COOKIE, {
          path: '/',
          httpOnly: true,
          sameSite: 'Strict',
          secure: isHttps(c),
        });
        return c.body(null, 204);
      },
    }),
  ];
}
