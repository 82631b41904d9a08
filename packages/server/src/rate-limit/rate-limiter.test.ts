import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RateLimiter } from './rate-limiter.ts';

describe('RateLimiter', () => {
  test('enforce: refuses past the per-minute limit, with a retry-after, until the window slides', () => {
    let now = 1_000_000;
    const limiter = new RateLimiter({
      mode: 'enforce',
      defaults: { rpm: 3, concurrent: 10 },
      now: () => now,
    });
    for (let i = 0; i < 3; i++) {
      limiter.acquire('a')();
      now += 1000;
    }
    assert.throws(
      () => limiter.acquire('a'),
      (err: { code: string; details: { retry_after_s: number } }) =>
        err.code === 'RATE_LIMIT_EXCEEDED' && err.details.retry_after_s === 57,
    );
    assert.equal(limiter.stats('a').rpm_warnings, 1);
    limiter.acquire('b')();
    now += 57_000;
    limiter.acquire('a')();
  });

  test('enforce: refuses past the concurrency limit until a lease is released', () => {
    const limiter = new RateLimiter({ mode: 'enforce', defaults: { rpm: 100, concurrent: 2 } });
    const l1 = limiter.acquire('a');
    limiter.acquire('a');
    assert.throws(() => limiter.acquire('a'), { code: 'RATE_LIMIT_EXCEEDED' });
    l1();
    l1();
    assert.equal(limiter.stats('a').current_concurrent, 1);
    limiter.acquire('a');
  });

  test('warn: lets everything through and counts warnings; per-client overrides apply', () => {
    const seen: string[] = [];
    const limiter = new RateLimiter({
      mode: 'warn',
      defaults: { rpm: 60, concurrent: 10 },
      onExceeded: (uuid, kind) => seen.push(`${uuid}:${kind}`),
    });
    for (let i = 0; i < 4; i++) limiter.acquire('a', { rpm: 2 });
    const stats = limiter.stats('a', { rpm: 2 });
    assert.deepEqual(stats, {
      requests_per_minute: 4,
      current_concurrent: 4,
      rpm_limit: 2,
      concurrent_limit: 10,
      rpm_warnings: 2,
      concurrent_warnings: 0,
      mode: 'warn',
    });
    assert.deepEqual(seen, ['a:rpm', 'a:rpm']);
  });
});
