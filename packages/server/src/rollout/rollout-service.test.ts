import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import { ReachError } from '@reach/protocol';
import { openDatabase } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import { RolloutStore } from '../db/rollout-store.ts';
import { createLogger } from '../log/logger.ts';
import { type RolloutDeps, RolloutService } from './rollout-service.ts';
import type { RolloutView } from './rollout-types.ts';

interface FakeClient {
  uuid: string;
  version: string;
  auto_update?: boolean;
  /** What update_apply does on this client. */
  outcome: 'healthy' | 'refuse' | 'rolled_back';
}

/** A registry and client service over fakes: a client that applies registers again (event). */
function fleet(clients: FakeClient[]) {
  const registry = new EventEmitter();
  const online = new Map(
    clients.map((c) => [
      c.uuid,
      {
        uuid: c.uuid,
        quarantined: false,
        registration: { update: { version: c.version, auto_update: c.auto_update ?? true } },
      },
    ]),
  );
  const calls: string[] = [];
  const events: string[] = [];
  /** Per call: the clients that had registered again before it was made. */
  const backAtCall = new Map<string, string[]>();
  const back: string[] = [];
  const deps: RolloutDeps = {
    releases: {
      manifestFile: async (v: string) =>
        ({
          manifest: { version: v, node: '24', artifacts: [] },
          bytes: Buffer.from('{}'),
          signature: 'sig',
        }) as never,
    },
    channels: async () => ({ stable: '2.0.0' }),
    listClients: () => clients.map((c) => ({ uuid: c.uuid, display_name: c.uuid, tags: ['fleet'] })),
    clients: {
      resolve: (ref: string) => ({ uuid: ref }) as never,
      call: (async (uuid: string, _m: string, params: { version: string }) => {
        calls.push(uuid);
        backAtCall.set(uuid, [...back].sort());
        const c = clients.find((x) => x.uuid === uuid);
        if (c?.outcome === 'refuse') throw new ReachError('SIGNATURE_INVALID', 'wrong key');
        setImmediate(() => {
          const update =
            c?.outcome === 'healthy'
              ? { version: params.version, auto_update: true }
              : {
                  version: c?.version ?? '',
                  auto_update: true,
                  last_update: {
                    from: '1.0.0',
                    to: params.version,
                    started_at: 'x',
                    state: 'rolled_back',
                    reason: 'exited',
                    log_tail: 'boom',
                  },
                };
          const next = { uuid, quarantined: false, registration: { update } };
          online.set(uuid, next as never);
          back.push(uuid);
          registry.emit('connected', next);
        });
        return { accepted: true, state: 'applied', from: c?.version, to: params.version };
      }) as never,
    },
    registry: {
      get: (uuid: string) => online.get(uuid) as never,
      on: registry.on.bind(registry) as never,
      off: registry.off.bind(registry) as never,
    },
    webhooks: { enqueue: (e) => events.push(`${e.event}:${e.client.uuid}`) },
    releaseUrl: 'http://127.0.0.1:1',
    log: createLogger('silent'),
    returnTimeoutMs: 5000,
  };
  return { deps, calls, events, backAtCall };
}

async function finished(service: RolloutService, id: string): Promise<RolloutView> {
  for (;;) {
    const [r] = service.status(id);
    if (r && r.state !== 'running') return r;
    await new Promise((res) => setTimeout(res, 5));
  }
}

describe('RolloutService', () => {
  test('4 clients in batches of 2: the first batch fails one, the rollout halts, the second batch is never told', async () => {
    const f = fleet([
      { uuid: 'c1', version: '1.0.0', outcome: 'healthy' },
      { uuid: 'c2', version: '1.0.0', outcome: 'refuse' },
      { uuid: 'c3', version: '1.0.0', outcome: 'healthy' },
      { uuid: 'c4', version: '1.0.0', outcome: 'healthy' },
    ]);
    const service = new RolloutService(f.deps);
    const started = await service.start({
      version: '2.0.0',
      target: { all: true },
      batch_size: 2,
      max_failures: 1,
    });
    const r = await finished(service, started.rollout_id);
    assert.equal(r.state, 'halted');
    assert.deepEqual(f.calls.sort(), ['c1', 'c2']);
    const by = Object.fromEntries(r.clients.map((c) => [c.uuid, c.state]));
    assert.deepEqual(by, { c1: 'healthy', c2: 'failed', c3: 'pending', c4: 'pending' });
    assert.match(r.clients[1]?.reason ?? '', /^SIGNATURE_INVALID/);
    assert.deepEqual(f.events.sort(), ['client.update_failed:c2', 'client.updated:c1']);
  });

  test('a batch starts only once the last one is back; a rollback counts as a failure and carries its log tail', async () => {
    const f = fleet([
      { uuid: 'c1', version: '1.0.0', outcome: 'healthy' },
      { uuid: 'c2', version: '1.0.0', outcome: 'healthy' },
      { uuid: 'c3', version: '1.0.0', outcome: 'rolled_back' },
      { uuid: 'c4', version: '1.0.0', outcome: 'healthy' },
      { uuid: 'c5', version: '1.0.0', outcome: 'healthy' },
    ]);
    const service = new RolloutService(f.deps);
    // The channel's version (stable → 2.0.0) when none is given.
    const started = await service.start({ target: { tags: ['fleet'] }, batch_size: 2, max_failures: 1 });
    assert.equal(started.version, '2.0.0');
    const r = await finished(service, started.rollout_id);
    assert.equal(r.state, 'halted');
    assert.deepEqual(f.calls, ['c1', 'c2', 'c3', 'c4']);
    // Batch 2 was told only after both of batch 1 had registered again.
    assert.deepEqual(f.backAtCall.get('c3'), ['c1', 'c2']);
    assert.deepEqual(f.backAtCall.get('c2'), []);
    const c3 = r.clients.find((c) => c.uuid === 'c3');
    assert.equal(c3?.state, 'rolled_back');
    assert.equal(c3?.log_tail, 'boom');
    assert.equal(r.clients.find((c) => c.uuid === 'c5')?.state, 'pending');
    assert.deepEqual(
      r.clients.map((c) => c.batch),
      [1, 1, 2, 2, -1],
    );
  });

  test('auto_update: false and clients already on the version are skipped, never called', async () => {
    const f = fleet([
      { uuid: 'c1', version: '1.0.0', auto_update: false, outcome: 'healthy' },
      { uuid: 'c2', version: '2.0.0', outcome: 'healthy' },
      { uuid: 'c3', version: '1.0.0', outcome: 'healthy' },
    ]);
    const service = new RolloutService(f.deps);
    const started = await service.start({
      version: '2.0.0',
      target: { all: true },
      batch_size: 10,
      max_failures: 1,
    });
    const r = await finished(service, started.rollout_id);
    assert.equal(r.state, 'completed');
    assert.deepEqual(f.calls, ['c3']);
    assert.deepEqual(
      r.clients.map((c) => [c.uuid, c.state, c.reason ?? '']),
      [
        ['c1', 'skipped', 'auto_update: false'],
        ['c2', 'skipped', 'already on 2.0.0'],
        ['c3', 'healthy', ''],
      ],
    );
  });

  test('a client pinned (itself or by tag) to another version is skipped; one pinned to this version updates', async () => {
    const f = fleet([
      { uuid: 'c1', version: '1.0.0', outcome: 'healthy' },
      { uuid: 'c2', version: '1.0.0', outcome: 'healthy' },
      { uuid: 'c3', version: '1.0.0', outcome: 'healthy' },
    ]);
    f.deps.pins = async () => ({ clients: { c1: '1.5.0', c3: '2.0.0' }, tags: { fleet: '1.9.0' } });
    const service = new RolloutService(f.deps);
    const started = await service.start({
      version: '2.0.0',
      target: { all: true },
      batch_size: 10,
      max_failures: 1,
    });
    const r = await finished(service, started.rollout_id);
    assert.deepEqual(f.calls, ['c3']);
    assert.deepEqual(
      r.clients.map((c) => [c.uuid, c.state, c.reason ?? '']),
      [
        ['c1', 'skipped', 'pinned to 1.5.0'],
        ['c2', 'skipped', 'pinned to 1.9.0'],
        ['c3', 'healthy', ''],
      ],
    );
  });

  test('rollouts are kept in SQLite: a restarted service shows them; one cut short is halted, not resumed', async () => {
    const db = openDatabase(':memory:', MIGRATIONS);
    const store = new RolloutStore(db);
    const f = fleet([{ uuid: 'c1', version: '1.0.0', outcome: 'healthy' }]);
    const first = new RolloutService({ ...f.deps, store });
    first.restore();
    const done = await first.start({
      version: '2.0.0',
      target: { all: true },
      batch_size: 1,
      max_failures: 1,
    });
    const finishedView = await finished(first, done.rollout_id);
    // A rollout the restart catches mid-way: written as running, never ended.
    store.save({
      ...finishedView,
      rollout_id: 'rollout-cut',
      state: 'running',
      ended_at: null,
      created_at: 'z',
    });
    first.close();
    const second = new RolloutService({ ...fleet([]).deps, store });
    second.restore();
    const [cut, kept] = second.status();
    assert.deepEqual(kept, finishedView);
    assert.equal(cut?.rollout_id, 'rollout-cut');
    assert.equal(cut?.state, 'halted');
    assert.match(String(cut?.halted_reason), /server restarted/);
    assert.equal(second.status('rollout-cut')[0]?.state, 'halted', 'and the halt was written back');
    const third = new RolloutService({ ...fleet([]).deps, store });
    third.restore();
    assert.equal(third.status('rollout-cut')[0]?.state, 'halted');
    db.close();
  });

  test('an unsigned release is refused before any client is told', async () => {
    const f = fleet([{ uuid: 'c1', version: '1.0.0', outcome: 'healthy' }]);
    f.deps.releases = {
      manifestFile: async () =>
        ({ manifest: { version: '2.0.0' }, bytes: Buffer.from(''), signature: undefined }) as never,
    };
    const service = new RolloutService(f.deps);
    await assert.rejects(
      service.start({ version: '2.0.0', target: { all: true }, batch_size: 1, max_failures: 1 }),
      /not signed/,
    );
    assert.deepEqual(f.calls, []);
  });
});
