import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { ReachError, toReachError } from '@reach/protocol';
import { Hono } from 'hono';
import type { Logger } from '../log/logger.ts';
import type { McpSessionStats } from '../mcp/http-endpoints.ts';
import type { McpHttp } from '../mcp/lazy-http-endpoints.ts';
import type { ReleaseStore } from '../releases/release-store.ts';
import type { ApiAuthVariables } from './auth/api-auth.ts';
import { type AuthVariables, bearerAuth } from './bearer-auth.ts';
import { bodyLimit } from './body-limit.ts';
import { hostCheck } from './host-check.ts';
import { releaseRoutes } from './release-routes.ts';
import { type StaticUi, staticUi } from './static-ui.ts';

/** Hono's environment for every route: node's req/res, and the caller's key id. */
export type HttpEnv = { Bindings: HttpBindings; Variables: AuthVariables };

export interface HealthBody {
  status: 'ok';
  version: string;
  uptime_s: number;
  clients: { online: number; total: number };
  webhooks: { pending: number; dead: number };
  mcp: McpSessionStats;
}

export interface HttpAppDeps {
  /** Bearer keys accepted on every route but /health; none: open (the server then binds loopback only). */
  apiKeys: readonly string[];
  /** Largest request body on any route, in bytes (see body-limit.ts). */
  maxBodyBytes: number;
  /** Host header values the MCP endpoints accept; read per request (known once the port is bound). */
  allowedHosts: () => readonly string[];
  mcp: McpHttp;
  health(): HealthBody;
  log?: Logger;
  /** Client downloads (/latest, /releases); open unless `requireApiKey`. */
  releases?: { store: ReleaseStore; requireApiKey: boolean };
  /** The REST API (api/build-api.ts): mounted at /api with its own auth (Bearer or session cookie). */
  api?: Hono<{ Variables: ApiAuthVariables }>;
  /** The web UI at / (static files, public; its data comes from /api behind the key). */
  ui?: StaticUi;
}

/**
 * The HTTP routes: /health open; everything else behind the bearer key, then the body limit
 * (an unauthenticated caller cannot make the server read a byte of its body); MCP behind the
 * host check. Every error leaves through `onError` as the shared `{error, message, …}` body.
 */
export function createHttpApp(deps: HttpAppDeps): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get('/health', (c) => c.json(deps.health()));
  // Client downloads are GETs without a body; open ones come before the key, else right after it.
  if (deps.releases && !deps.releases.requireApiKey) app.route('/', releaseRoutes(deps.releases.store));
  // /api authenticates by Bearer key or session cookie and limits bodies itself (uploads stream).
  if (deps.api) app.route('/api', deps.api);
  if (deps.ui) app.use('*', staticUi(deps.ui));
  app.use('*', bearerAuth(deps.apiKeys));
  if (deps.releases?.requireApiKey) app.route('/', releaseRoutes(deps.releases.store));
  app.use('*', bodyLimit(deps.maxBodyBytes));
  const guard = hostCheck(deps.allowedHosts);
  app.use('/mcp', guard);
  app.use('/sse', guard);
  app.use('/messages', guard);
  app.all('/mcp', (c) => deps.mcp.handleStreamable(c.req.raw, c.get('keyId')));
  app.get('/sse', async (c) => {
    await deps.mcp.openSse(c.env.outgoing, '/messages', c.get('keyId'));
    return RESPONSE_ALREADY_SENT;
  });
  app.post('/messages', async (c) => {
    // The body limit consumed node's request stream; the SDK gets the buffered copy, parsed.
    let message: unknown;
    try {
      message = JSON.parse(await c.req.text());
    } catch {
      throw new ReachError('PARSE_ERROR', 'request body is not valid JSON');
    }
    await deps.mcp.postSse(c.env.incoming, c.env.outgoing, c.req.query('sessionId'), c.get('keyId'), message);
    return RESPONSE_ALREADY_SENT;
  });
  app.notFound((c) =>
    c.json({ error: 'INVALID_ARGUMENT', message: `no route ${c.req.method} ${c.req.path}` }, 404),
  );
  app.onError((err, c) => {
    const reachErr = toReachError(err);
    if (reachErr.code === 'INTERNAL_ERROR') deps.log?.error({ err, path: c.req.path }, 'http request failed');
    if (reachErr.code === 'UNAUTHORIZED') c.header('www-authenticate', 'Bearer realm="reach"');
    return c.json(reachErr.toJSON(), reachErr.httpStatus as 400);
  });
  return app;
}
