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
    const q = t.query?.toLowerCase();
    const named = [
      ...new Map(t.client_ids.map((ref) => [clients.resolve(ref).uuid, clients.resolve(ref)])).values(),
    ];
    return named.filter((c) => {
      if (t.tags && !t.tags.every((tag) => c.tags.includes(tag))) return false;
      if (t.capabilities && !t.capabilities.every((cap) => c.capabilities.includes(cap))) return false;
      if (q !== undefined) {
        const hay = [c.display_name, c.client_id ?? '', c.hostname ?? ''].join('\n').toLowerCase();
        if (!hay.includes(q)) return false;
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
