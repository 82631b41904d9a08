import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClaimLimiter } from './claim-limiter.ts';

test('a burst per bucket, refilled over time; a claim needs a token in every bucket it names', () => {
  let now = 0;
  const limiter = new ClaimLimiter({ burst: 2, perMinute: 1, now: () => now });
  assert.equal(limiter.allow('uuid:a', 'key:x'), true);
  assert.equal(limiter.allow('uuid:a', 'key:y'), true);
  assert.equal(limiter.allow('uuid:a', 'key:z'), false, 'uuid:a is spent');
  assert.equal(limiter.allow('uuid:b', 'key:z'), true, 'the refused claim took nothing from key:z');
  now += 30_000;
  assert.equal(limiter.allow('uuid:a'), false, 'half a token after 30 s');
  now += 30_000;
  assert.equal(limiter.allow('uuid:a'), true, 'one token a minute');
  assert.equal(limiter.allow('uuid:a'), false);
});

test('the number of buckets is bounded; the least recently touched goes first', () => {
  const limiter = new ClaimLimiter({ burst: 1, perMinute: 1, maxBuckets: 2, now: () => 0 });
  assert.equal(limiter.allow('a'), true);
  assert.equal(limiter.allow('b'), true);
  assert.equal(limiter.allow('c'), true); // evicts a
  assert.equal(limiter.allow('a'), true, 'a was forgotten, so it starts full again');
  assert.equal(limiter.allow('c'), false);
});
