import type { Migration } from './index.ts';

/**
 * Metrics samples per client (the metrics sampler, every --metrics-interval-s). `at` is ms since
 * the epoch; a value is NULL when the client did not report it (network rates on a first sample).
 */
export const migration: Migration = {
  version: 7,
  name: 'metrics-history',
  up: `
    CREATE TABLE metrics_history (
      client_uuid TEXT NOT NULL,
      at INTEGER NOT NULL,
      cpu_percent REAL,
      memory_percent REAL,
      disk_percent REAL,
      net_rx_bps REAL,
      net_tx_bps REAL,
      PRIMARY KEY (client_uuid, at)
    ) WITHOUT ROWID;
    CREATE INDEX metrics_history_at ON metrics_history (at);
  `,
};
