import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Admission, parseMaxStartups, sourceOf } from './admission.ts';

test('below start all are admitted; between start and full drops rise from rate to 100%; at full all drop', () => {
  let r = 0;
  const admission = new Admission({ start: 2, rate: 50, full: 4, perSource: 100, random: () => r });
  assert.equal(admission.admit('a'), 'admitted');
  assert.equal(admission.admit('b'), 'admitted');
  // At start (2 held) p = 50%: a draw of 0.49 drops, 0.5 is let in.
  r = 0.49;
  assert.equal(admission.admit('c'), 'early-drop');
  r = 0.5;
  assert.equal(admission.admit('c'), 'admitted');
  // 3 held: p = 50 + 50 × 1/2 = 75%.
  r = 0.74;
  assert.equal(admission.admit('d'), 'early-drop');
  r = 0.75;
  assert.equal(admission.admit('d'), 'admitted');
  r = 0.999;
  assert.equal(admission.admit('e'), 'full');
  assert.equal(admission.pending, 4);
  admission.release('a');
  admission.release('b');
  assert.equal(admission.pending, 2);
  r = 0.5;
  assert.equal(admission.admit('e'), 'admitted');
});

test('one source never holds more than perSource slots; releasing one lets the next in', () => {
  const admission = new Admission({ start: 100, rate: 30, full: 100, perSource: 2 });
  assert.equal(admission.admit('10.0.0.1'), 'admitted');
  assert.equal(admission.admit('10.0.0.1'), 'admitted');
  assert.equal(admission.admit('10.0.0.1'), 'per-source');
  assert.equal(admission.admit('10.0.0.2'), 'admitted');
  admission.release('10.0.0.1');
  assert.equal(admission.admit('10.0.0.1'), 'admitted');
  admission.release('never-admitted');
  assert.equal(admission.pending, 3, 'a release without an admit changes nothing');
});

test('sources: IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 by /64', () => {
  assert.equal(sourceOf('192.0.2.7'), '192.0.2.7');
  assert.equal(sourceOf('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(sourceOf('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.equal(sourceOf('2001:0db8:0000:0001:aaaa::9'), '2001:db8:0:1::/64');
  assert.equal(sourceOf('::1'), '0:0:0:0::/64');
  assert.equal(sourceOf(undefined), 'unknown');
});

test('max-startups syntax', () => {
  assert.deepEqual(parseMaxStartups('10:30:100'), { start: 10, rate: 30, full: 100 });
  assert.deepEqual(parseMaxStartups('64'), { start: 64, rate: 100, full: 64 });
  for (const bad of ['', '0', '10:30', '100:30:10', '10:101:100', 'a:b:c', '10:30:100:1', '-1:30:10']) {
    assert.equal(parseMaxStartups(bad), undefined, bad);
  }
});
