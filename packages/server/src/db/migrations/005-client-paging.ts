import type { Migration } from './index.ts';

/**
 * Keyset paging of list_clients/find_client: one index in the listing order, (display_name
 * COLLATE NOCASE, uuid), so a page is an index range walk of `limit` rows however deep the cursor
 * (at 10,000 clients reading the whole table in order cost ~13 ms per call, a 100-row page ~0.1–0.2 ms). It
 * replaces 001's name-only index, whose every use (name lookups) the new one serves as a prefix.
 */
export const migration: Migration = {
  version: 5,
  name: 'client-paging',
  up: `
    CREATE INDEX clients_name_uuid ON clients (display_name COLLATE NOCASE, uuid);
    DROP INDEX clients_display_name;
  `,
};
