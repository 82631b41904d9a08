import type { Migration } from './index.ts';

/**
 * Rollouts of client updates (#16), so update_status outlives a server restart. One row per
 * rollout holding its whole view as JSON (≤ a few hundred bytes per client); the server keeps the
 * newest 50. Numbered 008: 006 and 007 are command and metrics history.
 */
export const migration: Migration = {
  version: 8,
  name: 'rollouts',
  up: `
    CREATE TABLE rollouts (
      rollout_id TEXT PRIMARY KEY,
      created_at TEXT NOT NULL,
      view TEXT NOT NULL
    );
    CREATE INDEX rollouts_created ON rollouts (created_at);
  `,
};
