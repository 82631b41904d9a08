import type { Migration } from './index.ts';

/**
 * The audit trail: one row per tool or API call that touches a client. `time` is milliseconds since
 * the epoch; `arguments` is JSON with secrets already redacted; `outcome` is 'OK' or an error code.
 */
export const migration: Migration = {
  version: 3,
  name: 'audit',
  up: `
    CREATE TABLE audit_log (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      time INTEGER NOT NULL,
      caller TEXT NOT NULL,
      client_uuid TEXT,
      tool TEXT NOT NULL,
      arguments TEXT NOT NULL,
      outcome TEXT NOT NULL,
      duration_ms INTEGER NOT NULL
    );
    CREATE INDEX audit_log_time ON audit_log (time);
    CREATE INDEX audit_log_client_time ON audit_log (client_uuid, time);
  `,
};
