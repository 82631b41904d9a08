import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openDatabase } from './database.ts';
import { MIGRATIONS } from './migrations/index.ts';
import { WebhookOutboxStore } from './webhook-outbox-store.ts';

function store(): WebhookOutboxStore {
  return new WebhookOutboxStore(openDatabase(':memory:', MIGRATIONS));
}
const row = (id: string, client_uuid: string, url: string, created_at = 1000) => ({
  id,
  event: 'client.connected',
  client_uuid,
  url,
  body: `{"id":"${id}"}`,
  created_at,
});

describe('WebhookOutboxStore', () => {
  test('head is the oldest pending row per target; a repeated (id, url) is ignored', () => {
    const s = store();
    s.insert([row('a', 'c1', 'u1'), row('a', 'c1', 'u2'), row('b', 'c1', 'u1'), row('a', 'c1', 'u1')]);
    assert.deepEqual(s.counts(), { pending: 3, dead: 0 });
    assert.deepEqual(s.pendingTargets(), [
      { client_uuid: 'c1', url: 'u1' },
      { client_uuid: 'c1', url: 'u2' },
    ]);
    const head = s.head({ client_uuid: 'c1', url: 'u1' });
    assert.equal(head?.id, 'a');
    assert.equal(head?.next_attempt_at, 1000);
    s.markDelivered([head!.seq]);
    assert.equal(s.head({ client_uuid: 'c1', url: 'u1' })?.id, 'b');
  });

  test('retry, dead letter, requeue, purge', () => {
    const s = store();
    s.insert([row('a', 'c1', 'u1'), row('b', 'c1', 'u1', 2000)]);
    const t = { client_uuid: 'c1', url: 'u1' };
    const a = s.head(t)!;
    s.markRetry(a.seq, 1, 1500, 'x'.repeat(2000), 2500);
    const retried = s.head(t)!;
    assert.equal(retried.attempts, 1);
    assert.equal(retried.last_error?.length, 500);
    assert.equal(retried.next_attempt_at, 2500);
    s.markDead(a.seq, 2, 3000, 'gave up');
    assert.equal(s.head(t)?.id, 'b');
    assert.equal(s.deadLetters()[0]?.id, 'a');
    assert.equal(s.expireTarget(t, 2001, 3000, 'expired'), 1);
    assert.deepEqual(s.counts(), { pending: 0, dead: 2 });
    assert.deepEqual(s.requeue(4000, [a.seq]), { rows: 1, targets: [t] });
    const back = s.head(t)!;
    assert.deepEqual(
      [back.id, back.attempts, back.retry_since, back.next_attempt_at, back.created_at],
      ['a', 0, 4000, 4000, 1000],
    );
    assert.equal(s.purgeDeadLetters(3001), 1);
    assert.deepEqual(s.counts(), { pending: 1, dead: 0 });
  });

  test('makeAllDue pulls future attempts to now', () => {
    const s = store();
    s.insert([row('a', 'c1', 'u1')]);
    const t = { client_uuid: 'c1', url: 'u1' };
    s.markRetry(s.head(t)!.seq, 1, 1000, 'e', 9999);
    s.makeAllDue(5000);
    assert.equal(s.head(t)?.next_attempt_at, 5000);
  });
});
