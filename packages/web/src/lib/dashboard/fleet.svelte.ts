import { api } from '../api/api-client.ts';
import type { ClientDetail, ClientList, ClientStatus, ClientView, LiveEvent } from '../api/types.ts';

/** Pages of 500 (the list's largest page); 20 pages is past any fleet one server holds (~10k). */
const PAGE = 500;
const MAX_PAGES = 20;

export function statusOf(
  c: Pick<ClientView, 'online' | 'key_mismatch'> & { status?: ClientStatus },
): ClientStatus {
  if (c.status) return c.status;
  if (c.key_mismatch) return 'quarantined';
  return c.online ? 'online' : 'offline';
}

/** Client-side filter: the whole fleet is in memory, so typing never waits for the server. */
export function matches(c: ClientView, q: string, status: ClientStatus | ''): boolean {
  if (status && c.status !== status) return false;
  if (!q) return true;
  const needle = q.toLowerCase();
  return [c.display_name, c.uuid, c.hostname ?? '', c.purpose, c.platform ?? '', ...c.tags].some((s) =>
    s.toLowerCase().includes(needle),
  );
}

/**
 * The dashboard's copy of the fleet: loaded once from GET /api/clients, then kept current by
 * `WS /ws` lifecycle events (a client appears on `client.connected`, turns offline on
 * `client.disconnected`) without reloading the list.
 */
export class Fleet {
  clients = $state<ClientView[]>([]);
  loaded = $state(false);
  #byUuid = new Map<string, number>();

  async load(signal?: AbortSignal): Promise<void> {
    const all: ClientView[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < MAX_PAGES; i++) {
      const opts = { query: { limit: PAGE, cursor }, ...(signal ? { signal } : {}) };
      const page = await api<ClientList>('GET', '/api/clients', opts);
      all.push(...page.clients.map((c) => ({ ...c, status: statusOf(c) })));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    this.clients = all;
    this.#reindex();
    this.loaded = true;
  }

  #reindex(): void {
    this.#byUuid = new Map(this.clients.map((c, i) => [c.uuid, i]));
  }

  #upsert(c: ClientView): void {
    const i = this.#byUuid.get(c.uuid);
    if (i === undefined) {
      this.clients.push(c);
      this.#byUuid.set(c.uuid, this.clients.length - 1);
    } else this.clients[i] = c;
  }

  #setStatus(uuid: string, status: ClientStatus, at: string): boolean {
    const i = this.#byUuid.get(uuid);
    const c = i === undefined ? undefined : this.clients[i];
    if (!c) return false;
    c.status = status;
    c.online = status !== 'offline';
    if (status === 'offline') c.last_seen = at;
    return true;
  }

  /** Applies one live event; a client the list has not seen yet is fetched. */
  async apply(e: LiveEvent): Promise<void> {
    const uuid = e.client?.uuid;
    if (!uuid) return;
    switch (e.type) {
      case 'client.connected': {
        const d = await api<ClientDetail>('GET', `/api/clients/${encodeURIComponent(uuid)}`);
        this.#upsert({ ...d, status: statusOf({ ...d, key_mismatch: d.quarantined || d.key_mismatch }) });
        return;
      }
      case 'client.disconnected':
        this.#setStatus(uuid, 'offline', e.at);
        return;
      case 'client.unhealthy':
        this.#setStatus(uuid, 'unhealthy', e.at);
        return;
      case 'client.key_mismatch':
        if (!this.#setStatus(uuid, 'quarantined', e.at)) await this.apply({ ...e, type: 'client.connected' });
        return;
      default:
        if (this.#byUuid.has(uuid)) {
          const c = this.clients[this.#byUuid.get(uuid)!];
          if (c && c.status !== 'offline') c.last_seen = e.at;
        }
    }
  }
}
