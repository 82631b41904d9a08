import type { Migration } from './index.ts';

/**
 * Files exchanged through the bucket: one row per exchange_upload. `state` is `stored` (in the
 * bucket, no destination), `pending` (waiting for dest_client to connect), `delivered`, `failed`
 * (delivery refused; `error` says why), `deleted` or `expired`. Times in ms since the epoch.
 */
export const migration: Migration = {
  version: 4,
  name: 'exchanges',
  up: `
    CREATE TABLE exchanges (
      transfer_id TEXT PRIMARY KEY,
      object_key TEXT NOT NULL UNIQUE,
      source_client TEXT NOT NULL,
      dest_client TEXT,
      dest_path TEXT,
      filename TEXT NOT NULL,
      size INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      state TEXT NOT NULL,
      error TEXT,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      delivered_at INTEGER
    );
    CREATE INDEX exchanges_pending ON exchanges (dest_client, state);
    CREATE INDEX exchanges_created ON exchanges (created_at);
  `,
};
