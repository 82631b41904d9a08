import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientStore } from '../db/client-store.ts';
import { openDatabase } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import type { Timers } from '../timers.ts';
import { LastSeenBatch } from './last-seen-batch.ts';

/** Timers run by hand: `fire()` runs what is due, in order. */
function manualTimers() {
  const due = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => {
      due.set(++next, { fn, ms });
      return next;
    },
    clearTimeout: (h) => {
      due.delete(h as number);
    },
  };
  return {
    timers,
    pending: () => [...due.values()].map((t) => t.ms),
    fire: () => {
      for (const [h, t] of [...due]) {
        due.delete(h);
        t.fn();
      }
    },
  };
}

function storeWith(n: number): { store: ClientStore; writes: () => number } {
  const store = new ClientStore(openDatabase(':memory:', MIGRATIONS));
  for (let i = 0; i < n; i++) {
    store.insert(
      `u${i}`,
      { public_key: 'k', fingerprint: 'f' },
      {
        display_name: `c${i}`,
        purpose: '',
        tags: [],
        capabilities: [],
        connection: {
          client_id: 'c',
          hostname: 'h',
          platform: 'p',
          username: 'u',
          connected_at: '2026-01-01T00:00:00.000Z',
        },
      },
    );
  }
  let batches = 0;
  const many = store.touchLastSeenMany.bind(store);
  store.touchLastSeenMany = (entries) => {
    batches++;
    many(entries);
  };
  return { store, writes: () => batches };
}

test('many disconnects within flushMs are one write, by one timer', () => {
  const clock = manualTimers();
  const { store, writes } = storeWith(100);
  const batch = new LastSeenBatch({
    store,
    flushMs: 2000,
    timers: clock.timers,
    onError: (e) => assert.fail(String(e)),
  });
  for (let i = 0; i < 100; i++) batch.record(`u${i}`, '2026-02-01T00:00:00.000Z');
  batch.record('u7', '2026-02-02T00:00:00.000Z');
  assert.deepEqual(clock.pending(), [2000], 'one timer for the whole batch');
  assert.equal(batch.pending('u7'), '2026-02-02T00:00:00.000Z', 'the latest time waits');
  assert.equal(store.get('u7')?.last_seen, '2026-01-01T00:00:00.000Z');
  clock.fire();
  assert.equal(writes(), 1);
  assert.equal(store.get('u7')?.last_seen, '2026-02-02T00:00:00.000Z');
  assert.equal(store.get('u99')?.last_seen, '2026-02-01T00:00:00.000Z');
  assert.equal(batch.pending('u7'), undefined);
});

test('close writes what waits, cancels the timer, and ignores later times', () => {
  const clock = manualTimers();
  const { store, writes } = storeWith(2);
  const batch = new LastSeenBatch({
    store,
    flushMs: 2000,
    timers: clock.timers,
    onError: (e) => assert.fail(String(e)),
  });
  batch.record('u0', '2026-02-01T00:00:00.000Z');
  batch.close();
  batch.close();
  assert.equal(writes(), 1);
  assert.deepEqual(clock.pending(), []);
  batch.record('u1', '2026-02-01T00:00:00.000Z');
  assert.deepEqual(clock.pending(), [], 'nothing scheduled after close');
  assert.equal(store.get('u1')?.last_seen, '2026-01-01T00:00:00.000Z');
});

test('a failed write is reported, not thrown into the timer', () => {
  const clock = manualTimers();
  const { store } = storeWith(1);
  store.touchLastSeenMany = () => {
    throw new Error('disk full');
  };
  const errors: unknown[] = [];
  const batch = new LastSeenBatch({
    store,
    flushMs: 10,
    timers: clock.timers,
    onError: (e) => errors.push(e),
  });
  batch.record('u0', '2026-02-01T00:00:00.000Z');
  clock.fire();
  assert.equal((errors[0] as Error | undefined)?.message, 'disk full');
});
