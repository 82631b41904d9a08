import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { BoundedEventStore } from './event-store.ts';

const note = (n: number): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { n },
});

async function replay(store: BoundedEventStore, after: string) {
  const got: JSONRPCMessage[] = [];
  const stream = await store.replayEventsAfter(after, {
    send: async (_id, m) => {
      got.push(m);
    },
  });
  return { stream, got };
}

test('replays the events of the same stream after the given id, skipping the priming event', async () => {
  const store = new BoundedEventStore();
  const prime = await store.storeEvent('s1', {} as JSONRPCMessage);
  await store.storeEvent('s2', note(99));
  await store.storeEvent('s1', note(1));
  await store.storeEvent('s1', note(2));
  assert.equal(await store.getStreamIdForEventId(prime), 's1');
  const { stream, got } = await replay(store, prime);
  assert.equal(stream, 's1');
  assert.deepEqual(got, [note(1), note(2)]);
});

test('keeps at most maxEvents, oldest dropped: an evicted id cannot be resumed', async () => {
  const store = new BoundedEventStore({ maxEvents: 3 });
  const first = await store.storeEvent('s', note(0));
  for (let i = 1; i < 10; i++) await store.storeEvent('s', note(i));
  assert.equal(store.size, 3);
  assert.equal(await store.getStreamIdForEventId(first), undefined);
  await assert.rejects(replay(store, first), /not found or expired/);
});

test('an event past its TTL is gone', async () => {
  let now = 0;
  const store = new BoundedEventStore({ ttlMs: 1000, now: () => now });
  const old = await store.storeEvent('s', note(0));
  now = 1500;
  await store.storeEvent('s', note(1));
  assert.equal(await store.getStreamIdForEventId(old), undefined);
  assert.equal(store.size, 1);
});
