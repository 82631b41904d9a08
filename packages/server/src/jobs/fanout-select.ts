import { ReachError } from '@reach/protocol';
import type { ClientService, ClientView } from '../clients/client-service.ts';

export interface FanoutTarget {
  client_ids?: string[] | undefined;
  /** Clients carrying every one of these tags. */
  tags?: string[] | undefined;
  /** Clients reporting every one of these capabilities. */
  capabilities?: string[] | undefined;
  /** Case-insensitive substring of display name, client id or hostname. */
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
  const byRef =
    t.client_ids === undefined ? undefined : new Set(t.client_ids.map((ref) => clients.resolve(ref).uuid));
  const q = t.query?.toLowerCase();
  const picked = clients.list().filter((c) => {
    if (byRef && !byRef.has(c.uuid)) return false;
    if (t.tags && !t.tags.every((tag) => c.tags.includes(tag))) return false;
    if (t.capabilities && !t.capabilities.every((cap) => c.capabilities.includes(cap))) return false;
    if (q !== undefined) {
      const hay = [c.display_name, c.client_id ?? '', c.hostname ?? ''].join('\n').toLowerCase();
      if (!hay.includes(q)) return false;
    }
    return !t.online_only || c.online;
  });
  return picked;
}
