import assert from 'node:assert/strict';
import { duplexPair } from 'node:stream';
import { describe, test } from 'node:test';
import { type BulkHeapPolicy, createBulkHeapPolicy } from './bulk-heap-policy.ts';
import { TransferChannel } from './transfer-channel.ts';

function recording(execArgv: string[] = []): { policy: BulkHeapPolicy; flags: string[] } {
  const flags: string[] = [];
  return { policy: createBulkHeapPolicy((f) => flags.push(f), execArgv), flags };
}

describe('bulk heap policy', () => {
  test('incremental marking is off from the first transfer begun to the last one ended', () => {
    const { policy, flags } = recording();
    const endA = policy.begin();
    const endB = policy.begin();
    assert.deepEqual(flags, ['--no-incremental-marking']);
    endA();
    endA(); // ending twice counts once
    assert.deepEqual(flags, ['--no-incremental-marking']);
    endB();
    assert.deepEqual(flags, ['--no-incremental-marking', '--incremental-marking']);
    policy.begin()();
    assert.deepEqual(flags.length, 4);
  });

  test('a marking flag the operator gave node is left alone', () => {
    const { policy, flags } = recording(['--no-incremental-marking']);
    policy.begin()();
    assert.deepEqual(flags, []);
  });

  test('collect runs a young-generation collection', async () => {
    const { policy } = recording();
    const { PerformanceObserver, constants } = await import('node:perf_hooks');
    const kinds: number[] = [];
    const seen = new Promise<void>((resolve) => {
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries())
          kinds.push((e as unknown as { detail: { kind: number } }).detail.kind);
        if (kinds.includes(constants.NODE_PERFORMANCE_GC_MINOR)) {
          obs.disconnect();
          resolve();
        }
      });
      obs.observe({ entryTypes: ['gc'] });
    });
    policy.collect();
    await seen;
  });

  test('a TransferChannel begins the policy, collects every 32 MiB and ends it once when destroyed', async () => {
    let begun = 0;
    let ended = 0;
    let collected = 0;
    const heap: BulkHeapPolicy = {
      begin() {
        begun++;
        return () => {
          ended++;
        };
      },
      collect() {
        collected++;
      },
    };
    const [near, far] = duplexPair();
    far.resume();
    const ch = new TransferChannel(near, { heap });
    assert.equal(begun, 1);
    assert.equal(ended, 0);
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < 9; i++) await ch.writeFramedChunk(chunk);
    assert.equal(collected, 1, '36 MiB written: one collection');
    ch.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(ended, 1, 'destroy and the close that follows end it once');
  });

  test('a channel that closes under it ends the policy too', async () => {
    let ended = 0;
    const heap: BulkHeapPolicy = { begin: () => () => void ended++, collect() {} };
    const [near, far] = duplexPair();
    new TransferChannel(near, { heap });
    far.destroy();
    near.destroy();
    await new Promise((r) => setImmediate(r));
    assert.equal(ended, 1);
  });
});
