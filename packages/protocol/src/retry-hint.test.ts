import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backlogRetryMs, parseRetryHint, reconnectWindowMs, retryHintLine } from './retry-hint.ts';

test('the reconnect window grows with the fleet, 1 s to 120 s', () => {
  assert.equal(reconnectWindowMs(0), 1_000);
  assert.equal(reconnectWindowMs(1_000), 5_000);
  assert.equal(reconnectWindowMs(10_000), 50_000);
  assert.equal(reconnectWindowMs(1_000_000), 120_000);
});

test('a retry hint survives the round trip and is bounded', () => {
  assert.equal(parseRetryHint(retryHintLine(7345.4)), 7345);
  assert.equal(parseRetryHint(`junk\r\n${retryHintLine(12)}SSH-2.0-x\r\n`), 12);
  assert.equal(parseRetryHint('reach-retry-after-ms=99999999999'), 120_000);
  assert.equal(parseRetryHint('reach-retry-after-ms=-5'), undefined);
  assert.equal(parseRetryHint('SSH-2.0-OpenSSH_9.2\r\n'), undefined);
  assert.ok(!retryHintLine(1).startsWith('SSH-'), 'RFC 4253: a pre-version line must not start with SSH-');
});

test('a turned-away client comes back within the window of the backlog, not of the whole fleet', () => {
  assert.equal(
    backlogRetryMs(10_000, 0, () => 1),
    50_000,
  );
  assert.equal(
    backlogRetryMs(10_000, 0, () => 0),
    10_000,
  );
  assert.equal(
    backlogRetryMs(10_000, 9_000, () => 1),
    5_000,
    '1,000 still to come: 5 s',
  );
  assert.equal(
    backlogRetryMs(10_000, 10_000, () => 1),
    1_000,
    'the 1 s floor',
  );
  assert.equal(
    backlogRetryMs(10, 50, () => 0.5),
    600,
    'more online than known (a count read earlier)',
  );
});
