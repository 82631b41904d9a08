import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { HttpEnv } from './http-app.ts';
import { attachWebSockets, type WsUpgradeDeps } from './ws-upgrade.ts';

/** A listening HTTP server; `close()` is idempotent. */
export interface HttpServerHandle {
  port: number;
  close(): Promise<void>;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

/** Serves `app` on host:port, and WebSocket upgrades on `ws`'s routes when given. */
export async function listenHttp(
  app: Hono<HttpEnv>,
  host: string,
  port: number,
  ws?: WsUpgradeDeps,
): Promise<HttpServerHandle> {
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', reject);
  });
  const closeSockets = ws ? attachWebSockets(server as Server, ws) : () => {};
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        closeSockets();
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
      return closing;
    },
  };
}
