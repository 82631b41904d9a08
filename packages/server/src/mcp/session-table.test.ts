import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SessionEndReason, SessionTable } from './session-table.ts';

function table(options: { max?: number; perOwner?: number; idleMs?: number } = {}) {
  let now = 1_000_000;
  const ended: { id: string; reason: SessionEndReason }[] = [];
  const closed: string[] = [];
  const t = new SessionTable<string>(
    {
      maxSessions: options.max ?? 3,
      maxPerOwner: options.perOwner ?? 3,
      idleTimeoutMs: options.idleMs ?? 60_000,
      now: () => now,
      onEnd: (id, _owner, reason) => ended.push({ id, reason }),
    },
    (value) => closed.push(value),
  );
  return { t, ended, closed, advance: (ms: number) => (now += ms) };
}

test('full: the least recently used session gives up its slot; nothing is refused', () => {
  const { t, closed, advance } = table({ max: 3 });
  for (const id of ['a', 'b', 'c']) {
    t.add(id, 'k', id);
    advance(1);
  }
  t.begin('a')?.(); // a used again: b is now the oldest
  t.add('d', 'k', 'd');
  assert.deepEqual(closed, ['b']);
  assert.equal(t.size, 3);
  assert.equal(t.get('b'), undefined);
  assert.equal(t.get('a'), 'a');
});

test('a session with a request in flight is evicted only when every other one is busy too', () => {
  const { t, closed } = table({ max: 2 });
  t.add('a', 'k', 'a');
  t.add('b', 'k', 'b');
  const endA = t.begin('a');
  t.begin('b')?.();
  // a is the older use but busy: b goes.
  t.add('c', 'k', 'c');
  assert.deepEqual(closed, ['b']);
  t.begin('c');
  endA?.();
  t.begin('a');
  t.add('d', 'k', 'd');
  assert.deepEqual(closed, ['b', 'c'], 'all busy: the least recently used goes');
});

test('one owner at its cap replaces its own oldest session, never another key’s', () => {
  const { t, closed } = table({ max: 10, perOwner: 2 });
  t.add('other', 'k2', 'other');
  for (const id of ['a1', 'a2', 'a3', 'a4']) t.add(id, 'k1', id);
  assert.deepEqual(closed, ['a1', 'a2']);
  assert.equal(t.countFor('k1'), 2);
  assert.equal(t.countFor('k2'), 1);
  assert.equal(t.get('other'), 'other');
});

test('idle sessions expire on the injected clock; one with a call in flight does not', () => {
  const { t, ended, closed, advance } = table({ idleMs: 60_000 });
  t.add('idle', 'k', 'idle');
  t.add('busy', 'k', 'busy');
  const end = t.begin('busy');
  advance(59_999);
  t.sweep();
  assert.equal(t.size, 2, 'not yet idle');
  advance(1);
  t.sweep();
  assert.deepEqual(closed, ['idle']);
  assert.deepEqual(ended, [{ id: 'idle', reason: 'idle' }]);
  advance(10 * 60_000);
  t.sweep();
  assert.equal(t.get('busy'), 'busy', 'in flight: kept however long it runs');
  end?.();
  advance(60_000);
  t.sweep();
  assert.equal(t.size, 0);
  assert.deepEqual(closed, ['idle', 'busy']);
});

test('delete is idempotent, does not close the value and frees the owner slot', () => {
  const { t, closed, ended } = table({ perOwner: 1 });
  t.add('a', 'k', 'a');
  t.delete('a');
  t.delete('a');
  assert.equal(t.countFor('k'), 0);
  t.add('b', 'k', 'b');
  assert.deepEqual(closed, []);
  assert.deepEqual(ended, [{ id: 'a', reason: 'closed' }]);
  assert.equal(t.begin('nope'), undefined);
});
