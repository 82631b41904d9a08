import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundedText, PEER_TEXT_MAX } from './bounded-text.ts';

test('short text is kept; long text is cut to the bound and says how much was cut', () => {
  assert.equal(boundedText('reach'), 'reach');
  assert.equal(boundedText('x'.repeat(PEER_TEXT_MAX)), 'x'.repeat(PEER_TEXT_MAX));
  const cut = boundedText('y'.repeat(20 * 1024 * 1024));
  assert.equal(cut, `${'y'.repeat(PEER_TEXT_MAX)}…[+${20 * 1024 * 1024 - PEER_TEXT_MAX}]`);
  assert.equal(boundedText('abcdef', 3), 'abc…[+3]');
});
