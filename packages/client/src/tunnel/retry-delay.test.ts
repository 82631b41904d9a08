import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedConnectDelayMs, lostLinkDelayMs } from './retry-delay.ts';

const policy = { reconnectDelayS: 1, maxReconnectDelayS: 60, random: () => 0.5 };
const base = { policy, attempt: 3, hintedMs: undefined, windowMs: 20_000, now: 100_000, refused: false };

test('a failed connect: the hint first, then the window while a lost link is recent, else backoff', () => {
  assert.equal(failedConnectDelayMs({ ...base, hintedMs: 7_000, lostAt: 99_000 }), 7_000);
  assert.equal(failedConnectDelayMs({ ...base, lostAt: 99_000 }), 10_000, 'half of the 20 s window');
  // 3 windows (60 s) after the loss, the window phase is over: backoff 0.5 · min(60, 1 · 2^3) s.
  assert.equal(failedConnectDelayMs({ ...base, lostAt: 100_000 - 61_000 }), 4_000);
  assert.equal(failedConnectDelayMs({ ...base, lostAt: undefined }), 4_000, 'never connected');
  assert.equal(failedConnectDelayMs({ ...base, lostAt: 99_000, refused: true }), 4_000, 'key refused');
  assert.equal(failedConnectDelayMs({ ...base, lostAt: 99_000, windowMs: undefined }), 4_000);
});

test('a lost link: anywhere in the window when it had registered, else backoff', () => {
  assert.equal(lostLinkDelayMs({ policy, attempt: 0, established: true, windowMs: 20_000 }), 10_000);
  assert.equal(lostLinkDelayMs({ policy, attempt: 0, established: false, windowMs: 20_000 }), 500);
  assert.equal(lostLinkDelayMs({ policy, attempt: 2, established: true, windowMs: undefined }), 2_000);
});
