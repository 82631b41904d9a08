import { ReachError } from '@reach/protocol';
import type { ClientPageRequest } from '../clients/client-paging.ts';
import type { ClientService, ClientView } from '../clients/client-service.ts';

export interface FanoutTarget {
  client_ids?: string[] | undefined;
  /** Clients carrying every one of these tags. */
  tags?: string[] | undefined;
  /** Clients reporting every one of these capabilities. */
  capabilities?: string[] | undefined;
  /** Case-insensitive substring of display name, purpose, hostname or a tag (list_clients' query). */
  query?: string | undefined;
  /** Leave offline clients out (true), or list them as `offline` rows (false). */
  online_only: boolean;
}

/** The clients a fan-out targets; naming an unknown client is CLIENT_NOT_FOUND, before any work. */
export function selectClients(clients: ClientService, t: FanoutTarget): ClientView[] {
  // A target with no selector would be the whole fleet: say so rather than guess it was meant.
  if (t.client_ids === undefined && !t.tags && !t.capabilities && t.query === undefined) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      'target names no clients: give client_ids, tags, capabilities or query',
      {
        details: {},
        recoveryHint: 'the whole fleet is target {query: ""}',
      },
    );
  }
  if (t.client_ids !== undefined) {
    // Named clients are few: resolved one by one, then held to the same filters the SQL listing
    // applies (client-filter-sql.ts: whole tags and capabilities, case-insensitive; the query a
    // substring of name, purpose, hostname or a tag).
    const lower = (xs: readonly string[]) => xs.map((x) => x.toLowerCase());
    const q = t.query?.toLowerCase();
    const byUuid = new Map<string, ClientView>();
    for (const ref of t.client_ids) {
      const c = clients.resolve(ref);
      byUuid.set(c.uuid, c);
    }
    return [...byUuid.values()].filter((c) => {
      const tags = lower(c.tags);
      const caps = lower(c.capabilities);
      if (t.tags && !lower(t.tags).every((tag) => tags.includes(tag))) return false;
      if (t.capabilities && !lower(t.capabilities).every((cap) => caps.includes(cap))) return false;
      if (q !== undefined) {
        const fields = [c.display_name, c.purpose, c.hostname ?? '', ...c.tags].map((f) => f.toLowerCase());
        if (!fields.some((f) => f.includes(q))) return false;
      }
      return !t.online_only || c.online;
    });
  }
  return everyPage(clients, {
    filter: {
      ...(t.tags ? { tags: t.tags } : {}),
      ...(t.capabilities ? { capabilities: t.capabilities } : {}),
      ...(t.query === undefined ? {} : { query: t.query }),
    },
    online_only: t.online_only,
  });
}

/** Every client a listing request matches, page by page (1,000 a page, in SQL). */
export function everyPage(
  clients: ClientService,
  req: Omit<ClientPageRequest, 'limit' | 'cursor'>,
): ClientView[] {
  const out: ClientView[] = [];
  let cursor: string | undefined;
  do {
    const page = clients.page({ ...req, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
    out.push(...page.clients);
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}
