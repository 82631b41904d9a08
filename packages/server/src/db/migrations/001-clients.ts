import type { Migration } from './index.ts';

/** Known clients: identity bound to the first key, operator settings, last connection. */
export const migration: Migration = {
  version: 1,
  name: 'clients',
  up: `
    CREATE TABLE clients (
      uuid TEXT PRIMARY KEY,
      display_name TEXT NOT NULL DEFAULT '',
      display_name_locked INTEGER NOT NULL DEFAULT 0,
      purpose TEXT NOT NULL DEFAULT '',
      purpose_locked INTEGER NOT NULL DEFAULT 0,
      tags TEXT NOT NULL DEFAULT '[]',
      tags_locked INTEGER NOT NULL DEFAULT 0,
      capabilities TEXT NOT NULL DEFAULT '[]',
      public_key TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      first_seen TEXT NOT NULL,
      last_seen TEXT,
      connection_count INTEGER NOT NULL DEFAULT 0,
      key_mismatch INTEGER NOT NULL DEFAULT 0,
      previous_fingerprint TEXT,
      pending_public_key TEXT,
      pending_fingerprint TEXT,
      allowed_paths TEXT NOT NULL DEFAULT '[]',
      webhook_url TEXT,
      rate_limit_rpm INTEGER,
      rate_limit_concurrent INTEGER,
      client_id TEXT,
      hostname TEXT,
      platform TEXT,
      username TEXT,
      connected_at TEXT
    );
    CREATE INDEX clients_client_id ON clients (client_id COLLATE NOCASE);
    CREATE INDEX clients_display_name ON clients (display_name COLLATE NOCASE);
    CREATE INDEX clients_pending_fingerprint ON clients (pending_fingerprint);
  `,
};
