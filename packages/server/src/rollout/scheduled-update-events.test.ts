import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { LastUpdate } from '@reach/protocol';
import { ClientStore, type RegistrationInfo } from '../db/client-store.ts';
import { openDatabase } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { createLogger } from '../log/logger.ts';
import type { OnlineClient } from '../registry/client-registry.ts';
import type { WebhookEventInput } from '../webhooks/webhook-dispatcher.ts';
import { reportScheduledUpdates } from './scheduled-update-events.ts';

const UUID = '4a8c2a56-3f1e-4c1a-9d1e-0c6d3b8e9f01';
const INFO: RegistrationInfo = {
  display_name: 'laptop',
  purpose: '',
  tags: [],
  capabilities: [],
  connection: { client_id: 'l', hostname: 'l', platform: 'linux', username: 'me', connected_at: 'now' },
};

/** A store in a database file (a server restart reopens it), a fake registry, the events sent. */
async function world(file?: string) {
  const dbFile = file ?? join(await mkdtemp(join(tmpdir(), 'reach-sched-')), 'reach.db');
  const db = openDatabase(dbFile, MIGRATIONS);
  const store = new ClientStore(db);
  if (!store.get(UUID)) store.insert(UUID, { public_key: 'ssh-ed25519 AAAA', fingerprint: 'SHA256:a' }, INFO);
  const registry = new EventEmitter<{ connected: [OnlineClient] }>();
  const sent: WebhookEventInput[] = [];
  const detach = reportScheduledUpdates({
    registry: registry as never,
    store,
    webhooks: { enqueue: (e) => sent.push(e) },
    log: createLogger('silent'),
  });
  const hello = (version: string, last?: LastUpdate, quarantined = false) =>
    registry.emit('connected', {
      uuid: UUID,
      quarantined,
      registration: {
        ...INFO,
        update: { version, auto_update: true, ...(last ? { last_update: last } : {}) },
      },
    } as unknown as OnlineClient);
  return { dbFile, db, sent, hello, detach };
}

const scheduled = (state: LastUpdate['state'], extra: Partial<LastUpdate> = {}): LastUpdate => ({
  from: '1.0.0',
  to: '1.1.0',
  started_at: '2026-12-04T03:00:00.000Z',
  state,
  trigger: 'schedule',
  ...extra,
});

test('a scheduled update is client.updated once: not again on a reconnect or after a restart', async () => {
  const w = await world();
  w.hello('1.0.0', scheduled('applied')); // the old process: no outcome yet
  assert.equal(w.sent.length, 0);
  w.hello('1.1.0', scheduled('applied'));
  w.hello('1.1.0', scheduled('healthy'));
  assert.deepEqual(w.sent, [
    {
      event: 'client.updated',
      client: { uuid: UUID, display_name: 'laptop' },
      data: { rollout_id: null, trigger: 'schedule', from: '1.0.0', to: '1.1.0' },
    },
  ]);
  w.detach();
  w.db.close();
  const restarted = await world(w.dbFile);
  restarted.hello('1.1.0', scheduled('healthy'));
  assert.equal(restarted.sent.length, 0, 'reported before the restart');
  // The next scheduled update is a new one.
  restarted.hello('1.2.0', scheduled('healthy', { from: '1.1.0', to: '1.2.0', started_at: 'later' }));
  assert.deepEqual(
    restarted.sent.map((e) => [e.event, e.data?.to]),
    [['client.updated', '1.2.0']],
  );
  restarted.db.close();
  rmSync(w.dbFile, { force: true });
});

test('a scheduled update rolled back is client.update_failed with its reason and log tail', async () => {
  const w = await world();
  w.hello('1.0.0', scheduled('rolled_back', { reason: 'exited with code 3', log_tail: 'boom\n' }));
  assert.deepEqual(w.sent, [
    {
      event: 'client.update_failed',
      client: { uuid: UUID, display_name: 'laptop' },
      data: {
        rollout_id: null,
        trigger: 'schedule',
        from: '1.0.0',
        to: '1.1.0',
        state: 'rolled_back',
        reason: 'exited with code 3',
        log_tail: 'boom\n',
      },
    },
  ]);
  w.db.close();
});

test('rollout updates, old clients, no update and quarantined links send nothing from here', async () => {
  const w = await world();
  w.hello('1.1.0', scheduled('healthy', { trigger: 'server' })); // the rollout reports these
  w.hello('1.1.0', { ...scheduled('healthy'), trigger: undefined }); // a client older than trigger
  w.hello('1.1.0');
  w.hello('1.1.0', scheduled('healthy'), true);
  assert.equal(w.sent.length, 0);
  w.db.close();
});
