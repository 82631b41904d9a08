import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginLimiter } from './login-limiter.ts';

test('10 sign-in attempts a minute per source; the 11th is RATE_LIMIT_EXCEEDED; the next minute is fresh', () => {
  let now = 0;
  const limiter = new LoginLimiter(10, () => now);
  for (let i = 0; i < 10; i++) limiter.attempt('10.0.0.1');
  assert.throws(
    () => limiter.attempt('10.0.0.1'),
    (err: { code: string; details: { retry_after_s: number } }) =>
      err.code === 'RATE_LIMIT_EXCEEDED' && err.details.retry_after_s === 60,
  );
  assert.doesNotThrow(() => limiter.attempt('10.0.0.2'), 'another source has its own count');
  now = 60_000;
  assert.doesNotThrow(() => limiter.attempt('10.0.0.1'));
});
