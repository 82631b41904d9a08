import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelayMs } from './backoff.ts';

test('full jitter: uniform in [0, min(cap, base·2^attempt))', () => {
  assert.equal(
    backoffDelayMs(0, 5, 300, () => 0),
    0,
  );
  assert.equal(
    backoffDelayMs(0, 5, 300, () => 0.5),
    2500,
  );
  assert.equal(
    backoffDelayMs(3, 5, 300, () => 0.5),
    20_000,
  );
  assert.equal(
    backoffDelayMs(10, 5, 300, () => 0.999),
    299_700,
    'capped at max',
  );
  assert.equal(
    backoffDelayMs(10_000, 5, 300, () => 0.5),
    150_000,
    'huge attempts do not overflow',
  );
});
