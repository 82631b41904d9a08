import { api, type Query } from '../api/api-client.ts';
import type { HistoryPage } from '../api/types.ts';

/** The filters of GET /api/history; empty ones are left out of the query string. */
export interface HistoryFilters {
  q: string;
  client: string;
  exit_code: string;
  caller: string;
  since: string;
  until: string;
}

export function emptyFilters(client = ''): HistoryFilters {
  return { q: '', client, exit_code: '', caller: '', since: '', until: '' };
}

/** `datetime-local` values are local time without a zone; the API takes ISO 8601. */
function iso(local: string): string | undefined {
  if (!local) return undefined;
  const t = new Date(local);
  return Number.isNaN(t.getTime()) ? undefined : t.toISOString();
}

export function searchHistory(
  f: HistoryFilters,
  cursor?: string,
  signal?: AbortSignal,
): Promise<HistoryPage> {
  const query: Query = {
    q: f.q.trim(),
    client: f.client,
    exit_code: f.exit_code,
    caller: f.caller.trim(),
    since: iso(f.since),
    until: iso(f.until),
    limit: 100,
    cursor,
  };
  return api<HistoryPage>('GET', '/api/history', { query, ...(signal ? { signal } : {}) });
}
