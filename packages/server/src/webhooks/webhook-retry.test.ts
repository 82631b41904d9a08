import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseWebhookConfig } from './webhook-config.ts';
import { nextRetry } from './webhook-retry.ts';

describe('nextRetry', () => {
  const config = parseWebhookConfig({
    maxRetries: 3,
    maxAttempts: 10,
    maxAgeS: 3600,
    baseDelayMs: 1000,
    maxDelayMs: 60_000,
  });

  test('doubles from the base delay and caps it', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((a) => nextRetry(config, a, 0, () => 1));
    assert.deepEqual(
      delays.map((d) => (d.dead ? 'dead' : d.delayMs)),
      [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000],
    );
  });

  test('jitter stays within [d/2, d]', () => {
    assert.deepEqual(
      nextRetry(config, 3, 0, () => 0),
      { dead: false, delayMs: 2000 },
    );
    assert.deepEqual(
      nextRetry(config, 3, 0, () => 0.5),
      { dead: false, delayMs: 3000 },
    );
  });

  test('dead at maxAttempts', () => {
    assert.equal(nextRetry(config, 10, 0).dead, true);
  });

  test('the quick retries happen whatever the age; later ones stop at maxAge', () => {
    assert.equal(nextRetry(config, 3, 10 * 3600_000).dead, false);
    assert.equal(nextRetry(config, 4, 3600_000).dead, true);
    assert.equal(nextRetry(config, 4, 3599_999).dead, false);
  });

  test('a receiver down for an hour with the defaults is retried past the hour', () => {
    const d = parseWebhookConfig({});
    let t = 0;
    let attempts = 0;
    for (;;) {
      attempts++;
      const r = nextRetry(d, attempts, t, () => 0);
      if (r.dead) break;
      t += r.delayMs;
    }
    assert.ok(t > 3 * 3600_000, `retries cover ${t} ms`);
  });
});
