import type { Migration } from './index.ts';

/**
 * The durable webhook outbox: one row per (event, target URL), written before any send. Delivered
 * rows are deleted; rows that exhaust their retries stay as `dead` letters until requeued or purged.
 * Times are milliseconds since the epoch.
 */
export const migration: Migration = {
  version: 2,
  name: 'webhook-outbox',
  up: `
    CREATE TABLE webhook_outbox (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL,
      event TEXT NOT NULL,
      client_uuid TEXT NOT NULL,
      url TEXT NOT NULL,
      body TEXT NOT NULL,
      status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'dead')),
      attempts INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      retry_since INTEGER NOT NULL,
      next_attempt_at INTEGER NOT NULL,
      last_attempt_at INTEGER,
      last_error TEXT,
      dead_at INTEGER,
      UNIQUE (id, url)
    );
    CREATE INDEX webhook_outbox_target ON webhook_outbox (client_uuid, url, seq) WHERE status = 'pending';
    CREATE INDEX webhook_outbox_dead ON webhook_outbox (dead_at) WHERE status = 'dead';
  `,
};
