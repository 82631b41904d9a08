import type { LiveEvents } from '../../operations/live-events.ts';

export type ClientStatus = 'online' | 'offline' | 'unhealthy' | 'quarantined';

/**
 * Which online clients missed heartbeats (`client.unhealthy`) since they last connected: the
 * live events say it, the client views do not. Cleared on connect and disconnect.
 */
export class UnhealthyClients {
  readonly #uuids = new Set<string>();
  readonly close: () => void;

  constructor(events: LiveEvents) {
    this.close = events.subscribe((e) => {
      const uuid = e.client?.uuid;
      if (uuid === undefined) return;
      if (e.type === 'client.unhealthy') this.#uuids.add(uuid);
      else if (e.type === 'client.connected' || e.type === 'client.disconnected') this.#uuids.delete(uuid);
    });
  }

  /** A listed client's status: quarantined (an unaccepted key) first, then health, then online. */
  statusOf(c: { uuid: string; online: boolean; key_mismatch: boolean }): ClientStatus {
    if (c.key_mismatch) return 'quarantined';
    if (!c.online) return 'offline';
    return this.#uuids.has(c.uuid) ? 'unhealthy' : 'online';
  }
}
