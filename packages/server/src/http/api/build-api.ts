import type { IncomingMessage } from 'node:http';
import type { Hono } from 'hono';
import { z } from 'zod';
import type { CommandHistoryStore } from '../../db/command-history-store.ts';
import type { MetricsHistoryStore } from '../../db/metrics-history-store.ts';
import type { Operations } from '../../operations/operations.ts';
import type { TransferService } from '../../transfer/transfer-service.ts';
import { type ApiAuthDeps, type ApiAuthVariables, upgradeAuthorizer } from '../auth/api-auth.ts';
import { keyMatcher } from '../auth/key-matcher.ts';
import { LoginLimiter } from '../auth/login-limiter.ts';
import { SessionStore } from '../auth/session-store.ts';
import { liveSocketRoute } from '../live-socket.ts';
import type { WsRoute } from '../ws-upgrade.ts';
import { type ApiRoute, apiRoute } from './api-route.ts';
import { apiRouter } from './api-router.ts';
import { clientRoutes } from './client-routes.ts';
import { UnhealthyClients } from './client-status.ts';
import { fileContentRoutes } from './file-content-routes.ts';
import { historyRoutes } from './history-routes.ts';
import { openApiDocument } from './openapi.ts';
import { sessionRoutes } from './session-routes.ts';

export interface HttpApiDeps {
  /** Configured API keys; none: /api is open (the server then binds loopback only). */
  apiKeys: readonly string[];
  sessionTtlMs: number;
  allowedHosts: () => readonly string[];
  operations: Operations;
  history: Pick<CommandHistoryStore, 'query'>;
  metrics: Pick<MetricsHistoryStore, 'range'>;
  webhooks: { stats(): { pending: number; dead: number; inFlight: number } };
  transfers: Pick<TransferService, 'upload' | 'download' | 'roots'>;
  maxBodyBytes: number;
  version: string;
  /**
   * Routes other parts add under /api (terminal recordings): same auth, validation, error body
   * and OpenAPI entry as these. A Hono route mounted elsewhere under /api would be shadowed by
   * this app's 404 and would not know the session cookie.
   */
  extraRoutes?: readonly ApiRoute[];
}

/** The REST API under /api, its WebSocket routes, and the upgrade check they share. */
export interface HttpApi {
  app: Hono<{ Variables: ApiAuthVariables }>;
  routes: readonly ApiRoute[];
  /** For attachWebSockets: Bearer or cookie, Host and Origin, as for /api. Answers the caller. */
  authorizeUpgrade(req: IncomingMessage): string;
  /** `WS /ws` (live events); the terminal adds its own beside it. */
  wsRoutes: WsRoute[];
  sessions: SessionStore;
  close(): void;
}

export function buildHttpApi(d: HttpApiDeps): HttpApi {
  const matches = keyMatcher(d.apiKeys);
  const sessions = new SessionStore(d.sessionTtlMs);
  const auth: ApiAuthDeps = { matches, open: d.apiKeys.length === 0, sessions, allowedHosts: d.allowedHosts };
  const unhealthy = new UnhealthyClients(d.operations.events);
  const routes: ApiRoute[] = [
    ...sessionRoutes({ sessions, matches, open: auth.open, logins: new LoginLimiter() }),
    ...clientRoutes({ operations: d.operations, unhealthy }),
    ...fileContentRoutes({ operations: d.operations, transfers: d.transfers }),
    ...historyRoutes(d),
    ...(d.extraRoutes ?? []),
  ];
  let document: Record<string, unknown> | undefined;
  routes.push(
    apiRoute({
      method: 'get',
      path: '/openapi.json',
      summary: 'This document (OpenAPI 3.1, generated from the routes’ zod schemas)',
      response: z.record(z.string(), z.unknown()),
      handler: async () => {
        document ??= openApiDocument(routes, d.version);
        return document;
      },
    }),
  );
  return {
    app: apiRouter(routes, auth, d.maxBodyBytes),
    routes,
    authorizeUpgrade: upgradeAuthorizer(auth),
    wsRoutes: [liveSocketRoute(d.operations.events)],
    sessions,
    close: () => unhealthy.close(),
  };
}
