import type { HelloResult } from '@reach/protocol';
import { AgentConnection } from '../agent/agent-connection.ts';
import { Heartbeat } from '../agent/heartbeat.ts';
import type { ClientRecord, ClientStore, RegistrationInfo } from '../db/client-store.ts';
import type { Logger } from '../log/logger.ts';
import type { ClaimLimiter } from '../registry/claim-limiter.ts';
import type { ClientRegistry, OnlineClient } from '../registry/client-registry.ts';
import type { SshLink } from '../ssh/ssh-server.ts';

export interface RegistrationDeps {
  store: ClientStore;
  registry: ClientRegistry;
  log: Logger;
  serverVersion: string;
  heartbeat: { intervalMs: number; timeoutMs: number; maxFailures: number; graceMs?: number };
  /** Deadline for hello and set_policy during registration, in ms. */
  registrationTimeoutMs: number;
  onKeyMismatch(record: ClientRecord, link: SshLink): void;
  /**
   * Bounds claims that change stored identity state: a new UUID (bucket `key:<fingerprint>`) and a
   * key mismatch (`uuid:<uuid>` and `key:<fingerprint>`). A claim over the limit is closed before
   * anything is written or any webhook fires.
   */
  claims: ClaimLimiter;
  /** Told once when heartbeats fail `maxFailures` times in a row, before the link is closed. */
  onUnhealthy?(uuid: string, failures: number): void;
  /** The first heartbeat's place in the interval, [0, 1); default Math.random (see Heartbeat). */
  heartbeatJitter?: () => number;
  /** Told to the client at hello: the window its first retry after a lost link is spread over. */
  reconnectWindowMs?: () => number;
  now?: () => Date;
}

export function registrationInfo(hello: HelloResult, connectedAt: string): RegistrationInfo {
  return {
    display_name: hello.display_name,
    purpose: hello.purpose,
    tags: hello.tags,
    capabilities: hello.capabilities,
    connection: {
      client_id: hello.client_id,
      hostname: hello.hostname,
      platform: hello.platform,
      username: hello.username,
      connected_at: connectedAt,
    },
    update: {
      version: hello.version,
      auto_update: hello.auto_update ?? true,
      ...(hello.last_update ? { last_update: hello.last_update } : {}),
    },
  };
}

/**
 * Registers a link that asked for the agent forward: opens the agent channel, asks `hello`, binds
 * or checks the UUID against the handshake key, pushes the server's policy, then puts the client
 * online with a heartbeat. Any failure closes the link (the client reconnects).
 */
export async function registerLink(link: SshLink, deps: RegistrationDeps): Promise<OnlineClient | undefined> {
  const log = deps.log.child({ link: link.id });
  let agent: AgentConnection | undefined;
  try {
    const channel = await link.openAgentChannel();
    agent = new AgentConnection(channel, log);
    const timeoutMs = deps.registrationTimeoutMs;
    const window = deps.reconnectWindowMs?.();
    const hello = await agent.call(
      'hello',
      {
        server_version: deps.serverVersion,
        ...(window === undefined ? {} : { reconnect_window_ms: window }),
      },
      { timeoutMs },
    );
    const clientLog = log.child({ clientId: hello.uuid });
    const info = registrationInfo(hello, (deps.now?.() ?? new Date()).toISOString());
    const key = { public_key: link.publicKey, fingerprint: link.fingerprint };

    let record = deps.store.get(hello.uuid);
    let quarantined = false;
    const refuseClaim = (why: string): undefined => {
      clientLog.debug({ fingerprint: key.fingerprint }, `identity claims over the limit (${why}); closing`);
      agent?.close('too many identity claims');
      link.close();
      return undefined;
    };
    if (!record) {
      if (!deps.claims.allow(`key:${key.fingerprint}`)) return refuseClaim('new UUIDs for this key');
      record = deps.store.insert(hello.uuid, key, info);
      clientLog.info({ fingerprint: key.fingerprint }, 'new client registered');
    } else if (record.fingerprint === key.fingerprint) {
      record = deps.store.recordConnection(hello.uuid, info);
    } else {
      quarantined = true;
      const current = deps.registry.get(hello.uuid);
      if (current && !current.quarantined) {
        // Never let an unaccepted key push out the trusted connection.
        clientLog.debug({ fingerprint: key.fingerprint }, 'key mismatch while the trusted key is online');
        agent.close('key mismatch while the trusted key is online');
        link.close();
      }
      if (!deps.claims.allow(`uuid:${hello.uuid}`, `key:${key.fingerprint}`)) {
        return refuseClaim('key mismatches');
      }
      record = deps.store.recordKeyMismatch(hello.uuid, key);
      clientLog.warn(
        { fingerprint: key.fingerprint, expected: record.fingerprint },
        'client key mismatch: connection quarantined until accept_key',
      );
      deps.onKeyMismatch(record, link);
      if (link.closed) return undefined;
    }

    await agent.call('set_policy', { allowed_paths: record.allowed_paths }, { timeoutMs });
    if (link.closed || agent.closed) return undefined;

    let heartbeatFailed = false;
    const online: OnlineClient = { uuid: hello.uuid, link, agent, registration: info, quarantined };
    const connectedAgent = agent;
    const heartbeat = new Heartbeat({
      ...deps.heartbeat,
      firstBeatAt: deps.heartbeatJitter ?? Math.random,
      beat: (ms) => connectedAgent.call('heartbeat', {}, { timeoutMs: ms }),
      onDead: (failures) => {
        heartbeatFailed = true;
        clientLog.warn({ failures }, 'heartbeat failed; closing the link');
        deps.onUnhealthy?.(hello.uuid, failures);
        connectedAgent.close('heartbeat failed');
        link.close();
      },
    });
    agent.onClose(() => heartbeat.stop());
    if (!deps.registry.add(online)) {
      // The registry refused it: a quarantined connection while the trusted key is online.
      clientLog.debug({ fingerprint: key.fingerprint }, 'not put online: the trusted key is online');
      heartbeat.stop();
      agent.close('key mismatch while the trusted key is online');
      link.close();
      return undefined;
    }
    heartbeat.start();
    clientLog.info(
      { hostname: hello.hostname, client_id: hello.client_id, quarantined, remote: link.remoteAddress },
      'client online',
    );
    logDisconnect(online, deps, clientLog, () => heartbeatFailed);
    return online;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'registration failed; closing the link');
    agent?.close('registration failed');
    link.close();
    return undefined;
  }
}

/**
 * Logs once when `online` goes away: who (uuid, display name), why and after how long. Its own
 * listeners on the link fire after the registry's, so the registry already shows a replacement.
 */
function logDisconnect(
  online: OnlineClient,
  deps: RegistrationDeps,
  log: Logger,
  heartbeatFailed: () => boolean,
): void {
  const since = (deps.now?.() ?? new Date()).getTime();
  let logged = false;
  const report = (): void => {
    if (logged) return;
    logged = true;
    const successor = deps.registry.get(online.uuid);
    const reason = heartbeatFailed()
      ? 'heartbeat failed'
      : successor && successor !== online
        ? 'replaced by a newer connection'
        : 'link closed';
    log.info(
      {
        display_name: online.registration.display_name,
        reason,
        duration_s: Math.round(((deps.now?.() ?? new Date()).getTime() - since) / 100) / 10,
        quarantined: online.quarantined,
      },
      'client disconnected',
    );
  };
  online.link.onClose(report);
  online.agent.onClose(report);
}
