import type { Migration } from './index.ts';

/**
 * The last self-update (its `started_at`) the server has sent a webhook for, per client (#16): an
 * update a client started on its own schedule is reported once, when a hello first shows its
 * outcome, not again at every reconnect or after a server restart.
 */
export const migration: Migration = {
  version: 9,
  name: 'update-reports',
  up: `ALTER TABLE clients ADD COLUMN update_reported TEXT;`,
};
