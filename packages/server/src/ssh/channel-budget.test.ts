import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelBudget } from './channel-budget.ts';

test('a kind is refused past its cap, every kind past the total; a release frees one slot once', () => {
  const budget = new ChannelBudget({ control: 2, agent: 1, stream: 3, total: 4 });
  const c1 = budget.take('control');
  const c2 = budget.take('control');
  assert.ok(c1 && c2);
  assert.equal(budget.take('control'), undefined, 'control cap');
  const a = budget.take('agent');
  assert.ok(a);
  assert.equal(budget.take('agent'), undefined, 'agent cap');
  const s = budget.take('stream');
  assert.ok(s);
  assert.equal(budget.take('stream'), undefined, 'total cap, though stream has room');
  c1();
  c1();
  assert.equal(budget.open('control'), 1, 'a second release changes nothing');
  assert.ok(budget.take('stream'));
  assert.equal(budget.take('control'), undefined);
});
