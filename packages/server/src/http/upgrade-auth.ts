import type { IncomingMessage } from 'node:http';
import { bearerKeyCheck } from './bearer-auth.ts';
import { checkHostAndOrigin } from './host-check.ts';

export interface UpgradeAuthDeps {
  apiKeys: readonly string[];
  /** Host header values this server answers to; read per request (known once the port is bound). */
  allowedHosts: () => readonly string[];
}

/**
 * `authorize` for WebSocket upgrades (ws-upgrade.ts): the bearer key as on every /api route, and
 * Host and Origin naming this server — an Origin, when sent (browsers always send it on an
 * upgrade), must be this server's own, so no other site's page can open a terminal with a
 * cookie it rides on. Returns the caller's key id.
 */
export function createUpgradeAuthorizer(deps: UpgradeAuthDeps): (req: IncomingMessage) => string {
  const bearer = bearerKeyCheck(deps.apiKeys);
  return (req) => {
    const origin = req.headers.origin;
    checkHostAndOrigin(deps.allowedHosts(), req.headers.host, origin, { sameOrigin: true });
    return bearer(req.headers.authorization, new URL(req.url ?? '/', 'http://x').searchParams);
  };
}
