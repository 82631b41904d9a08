import { ReachError } from '@reach/protocol';
import { type Context, Hono } from 'hono';
import type { z } from 'zod';
import { type ApiAuthDeps, type ApiAuthVariables, apiAuth } from '../auth/api-auth.ts';
import { bodyLimit } from '../body-limit.ts';
import type { ApiRoute } from './api-route.ts';

function invalid(part: string, error: z.ZodError): ReachError {
  return new ReachError('INVALID_ARGUMENT', `invalid ${part}`, {
    details: { issues: error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
  });
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, part: string): T {
  if (!schema) return {} as T;
  const r = schema.safeParse(value);
  if (!r.success) throw invalid(part, r.error);
  return r.data;
}

async function jsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ReachError('PARSE_ERROR', 'request body is not valid JSON');
  }
}

/** Builds the /api sub-app from route data: auth, body limit, validation, the handler. */
export function apiRouter(
  routes: readonly ApiRoute[],
  auth: ApiAuthDeps,
  maxBodyBytes: number,
): Hono<{ Variables: ApiAuthVariables }> {
  const app = new Hono<{ Variables: ApiAuthVariables }>();
  const publicRoutes = routes.filter((r) => r.public);
  app.use(
    '*',
    apiAuth(auth, (method, path) =>
      publicRoutes.some((r) => r.method === method.toLowerCase() && `/api${r.path}` === path),
    ),
  );
  // Bodies are read into memory only once the caller is known, on every /api path (an unknown
  // one too: the limit does not depend on the route existing); a streamed upload is not.
  const limit = bodyLimit(maxBodyBytes);
  const raw = routes
    .filter((r) => r.rawBody)
    .map((r) => ({
      method: r.method.toUpperCase(),
      path: new RegExp(`^/api${r.path.replace(/:[A-Za-z_]+/g, '[^/]+')}$`),
    }));
  app.use('*', (c, next) =>
    raw.some((r) => r.method === c.req.method && r.path.test(c.req.path)) ? next() : limit(c, next),
  );
  for (const route of routes) {
    app.on(route.method.toUpperCase(), route.path, async (c: Context) => {
      const params = parse(route.params, c.req.param(), 'path parameters');
      const query = parse(route.query, c.req.query(), 'query');
      const body = route.body ? parse(route.body, await jsonBody(c), 'body') : undefined;
      const result = await route.handler({
        params,
        query,
        body,
        caller: c.get('apiCaller') ?? { caller: 'http:anonymous' },
        signal: c.req.raw.signal,
        c,
      });
      if (result instanceof Response) return result;
      if (route.response === 'none') return c.body(null, 204);
      return c.json(result as object);
    });
  }
  // As the app's 404: the shared error body, after authentication (no route list for strangers).
  app.all('*', (c) =>
    c.json(
      {
        error: 'INVALID_ARGUMENT',
        message: `no route ${c.req.method} ${c.req.path.slice(0, 200)}`,
        recovery_hint: 'GET /api/openapi.json lists the routes',
      },
      404,
    ),
  );
  return app;
}
