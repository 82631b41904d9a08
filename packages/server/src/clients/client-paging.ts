import type { ClientFilter, ClientRecord, ClientStore } from '../db/client-store.ts';
import type { ClientRegistry, OnlineClient } from '../registry/client-registry.ts';
import type { ClientCursors } from './client-cursor.ts';
import type { ClientView } from './client-view.ts';

/** One page of a client listing (list_clients, find_client, the control list_clients). */
export interface ClientPageRequest {
  filter?: Omit<ClientFilter, 'online'>;
  online_only?: boolean;
  /** Clients per page, ≥ 1 (the callers' schemas cap it). */
  limit: number;
  /** `next_cursor` of the previous page, for the same filter. */
  cursor?: string | undefined;
}

export interface ClientPage {
  /** Online clients first, then the rest; each part by display name (case-insensitive), then uuid. */
  clients: ClientView[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
  /** Clients matching the request, over all pages. */
  total: number;
  /** Of those, how many are online. */
  online: number;
}

export interface PagingDeps {
  store: ClientStore;
  registry: ClientRegistry;
  cursors: ClientCursors;
  view: (record: ClientRecord, online: OnlineClient | undefined) => ClientView;
}

/** The filter a cursor is bound to: the request's, with online_only as the online flag. */
function scope(req: ClientPageRequest): ClientFilter {
  return req.online_only ? { ...req.filter, online: true } : { ...req.filter };
}

/**
 * One page of the clients matching `req`, online first. Keyset paging in SQL (the online part,
 * then the offline part, each by name and uuid), so a page costs the same at any depth and
 * clients added between pages neither repeat nor push others off; a client that comes online or
 * drops between two pages may be listed twice or not at all. A cursor from another query, edited,
 * or from before a restart → INVALID_ARGUMENT.
 */
export function pageClients(deps: PagingDeps, req: ClientPageRequest): ClientPage {
  const { store, registry } = deps;
  const base = req.filter ?? {};
  const position = req.cursor === undefined ? undefined : deps.cursors.decode(scope(req), req.cursor);
  // One row past the page says whether another page follows, without counting.
  const want = req.limit + 1;
  const rows: ClientRecord[] = [];
  if (position === undefined || position.phase === 'online') {
    rows.push(...store.page({ ...base, online: true }, want, position?.after));
  }
  if (!req.online_only && rows.length < want) {
    const after = position?.phase === 'offline' ? position.after : undefined;
    rows.push(...store.page({ ...base, online: false }, want - rows.length, after));
  }
  const clients = rows.slice(0, req.limit).map((r) => deps.view(r, registry.get(r.uuid)));
  const last = clients.at(-1);
  const counts = countsOf(deps, req, rows);
  return {
    clients,
    next_cursor: rows.length > req.limit && last ? cursorAfter(deps.cursors, req, last) : null,
    ...counts,
  };
}

/**
 * The counts of a page: the registry's and the table's own when nothing filters; the page's when
 * it is the whole answer (first page, not full); else one counting scan of the matches.
 */
function countsOf(
  deps: PagingDeps,
  req: ClientPageRequest,
  rows: readonly ClientRecord[],
): { total: number; online: number } {
  const base = req.filter ?? {};
  if (Object.values(base).every((v) => v === undefined)) {
    const online = deps.registry.size;
    return { total: req.online_only ? online : deps.store.count(), online };
  }
  if (req.cursor === undefined && rows.length <= req.limit) {
    const online = rows.filter((r) => deps.registry.get(r.uuid) !== undefined).length;
    return { total: req.online_only ? online : rows.length, online };
  }
  const counts = deps.store.countMatching(req.online_only ? { ...base, online: true } : base);
  return req.online_only ? { total: counts.online, online: counts.online } : counts;
}

/** The cursor of the page that starts right after `client`, one of a page of `req`. */
export function cursorAfter(cursors: ClientCursors, req: ClientPageRequest, client: ClientView): string {
  return cursors.encode(scope(req), {
    phase: client.online ? 'online' : 'offline',
    after: { display_name: client.display_name, uuid: client.uuid },
  });
}
