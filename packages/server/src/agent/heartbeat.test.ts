import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Timers } from '../timers.ts';
import { Heartbeat } from './heartbeat.ts';

/** Manual timers: `fire()` runs the pending timeout. */
function manualTimers(): Timers & { fire(): void; pending(): number; lastMs: number } {
  let queued: Array<{ fn: () => void; ms: number }> = [];
  const t = {
    lastMs: 0,
    setTimeout(fn: () => void, ms: number) {
      const entry = { fn, ms };
      queued.push(entry);
      t.lastMs = ms;
      return entry;
    },
    clearTimeout(handle: unknown) {
      queued = queued.filter((q) => q !== handle);
    },
    fire() {
      const next = queued.shift();
      next?.fn();
    },
    pending: () => queued.length,
  };
  return t;
}

const flush = () => new Promise((r) => setImmediate(r));

test('three failed beats in a row declare the link dead once; a success resets the count', async () => {
  const timers = manualTimers();
  const results: boolean[] = [false, true, false, false, false];
  let dead = 0;
  const hb = new Heartbeat({
    intervalMs: 30_000,
    timeoutMs: 10_000,
    maxFailures: 3,
    timers,
    beat: async (ms) => {
      assert.equal(ms, 10_000);
      if (!results.shift()) throw new Error('no answer');
    },
    onDead: (failures) => {
      dead++;
      assert.equal(failures, 3);
    },
  });
  hb.start();
  assert.equal(timers.lastMs, 30_000);
  for (let i = 0; i < 5; i++) {
    timers.fire();
    await flush();
  }
  assert.equal(dead, 1);
  assert.equal(timers.pending(), 0, 'stopped after declaring the link dead');
});

test('stop() cancels the next beat', async () => {
  const timers = manualTimers();
  let beats = 0;
  const hb = new Heartbeat({
    intervalMs: 1000,
    timeoutMs: 100,
    maxFailures: 1,
    timers,
    beat: async () => {
      beats++;
    },
    onDead: () => assert.fail('not dead'),
  });
  hb.start();
  timers.fire();
  await flush();
  hb.stop();
  assert.equal(timers.pending(), 0);
  assert.equal(beats, 1);
});

test('failures inside the grace period after start do not count', async () => {
  const timers = manualTimers();
  let now = 0;
  let dead = 0;
  const hb = new Heartbeat({
    intervalMs: 30_000,
    timeoutMs: 10_000,
    maxFailures: 3,
    graceMs: 60_000,
    now: () => now,
    timers,
    beat: async () => {
      throw new Error('no answer');
    },
    onDead: () => {
      dead++;
    },
  });
  hb.start();
  for (const t of [30_000, 59_000]) {
    now = t;
    timers.fire();
    await flush();
  }
  assert.equal(hb.failures, 0, 'within the first 60 s nothing counts');
  for (const t of [90_000, 120_000]) {
    now = t;
    timers.fire();
    await flush();
  }
  assert.equal(hb.failures, 2);
  assert.equal(dead, 0);
  now = 150_000;
  timers.fire();
  await flush();
  assert.equal(dead, 1);
});

test('the first beat falls where firstBeatAt puts it in the interval; later beats a full interval apart', async () => {
  const delays: number[] = [];
  for (const at of [0, 0.25, 0.999]) {
    const timers = manualTimers();
    const hb = new Heartbeat({
      intervalMs: 40_000,
      timeoutMs: 10_000,
      maxFailures: 3,
      timers,
      firstBeatAt: () => at,
      beat: async () => {},
      onDead: () => assert.fail('no failure expected'),
    });
    hb.start();
    delays.push(timers.lastMs);
    timers.fire();
    await flush();
    assert.equal(timers.lastMs, 40_000, 'after the first beat, the plain interval');
    hb.stop();
  }
  assert.deepEqual(delays, [0, 10_000, 39_960]);
});
