import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import type { McpHttpEndpoints } from '../mcp/http-endpoints.ts';
import type { ReleaseStore } from '../releases/release-store.ts';
import { bearerAuth } from './bearer-auth.ts';
import { hostCheck } from './host-check.ts';
import { releaseRoutes } from './release-routes.ts';

export interface HealthBody {
  status: 'ok';
  version: string;
  uptime_s: number;
  clients: { online: number; total: number };
  webhooks: { pending: number; dead: number };
}

export interface HttpAppDeps {
  apiKey: string | undefined;
  /** Host header values the MCP endpoints accept; read per request (known once the port is bound). */
  allowedHosts: () => readonly string[];
  mcp: McpHttpEndpoints;
  health(): HealthBody;
  /** Client downloads (/latest, /releases); open unless `requireApiKey`. */
  releases?: { store: ReleaseStore; requireApiKey: boolean };
}

/** The HTTP routes: /health open; everything else behind the bearer key; MCP behind the host check. */
export function createHttpApp(deps: HttpAppDeps): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.get('/health', (c) => c.json(deps.health()));
  if (deps.releases && !deps.releases.requireApiKey) app.route('/', releaseRoutes(deps.releases.store));
  app.use('*', bearerAuth(deps.apiKey));
  if (deps.releases?.requireApiKey) app.route('/', releaseRoutes(deps.releases.store));
  const guard = hostCheck(deps.allowedHosts);
  app.use('/mcp', guard);
  app.use('/sse', guard);
  app.use('/messages', guard);
  app.all('/mcp', (c) => deps.mcp.handleStreamable(c.req.raw));
  app.get('/sse', async (c) => {
    await deps.mcp.openSse(c.env.outgoing, '/messages');
    return RESPONSE_ALREADY_SENT;
  });
  app.post('/messages', async (c) => {
    await deps.mcp.postSse(c.env.incoming, c.env.outgoing, c.req.query('sessionId'));
    return RESPONSE_ALREADY_SENT;
  });
  app.notFound((c) =>
    c.json({ error: 'INVALID_ARGUMENT', message: `no route ${c.req.method} ${c.req.path}` }, 404),
  );
  return app;
}
