import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  client,
  FakeClock,
  fakeFetch,
  waitFor,
  webhookDispatcherFixture,
} from './helpers/webhook-dispatcher-fixture.ts';

const { cleanups, tempDb, dispatcher } = webhookDispatcherFixture();

describe('WebhookDispatcher retry schedule (injected clock, fake fetch)', () => {
  const url = 'http://receiver.invalid/hook';
  const target = { client_uuid: client(1).uuid, url };

  test('capped exponential backoff, then success', async () => {
    const clock = new FakeClock();
    const f = fakeFetch((n) => new Response('busy', { status: n <= 5 ? 503 : 200 }));
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const { d, store } = dispatcher(
      db,
      { url, maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 5000 },
      { now: () => clock.now, timers: clock.timers, fetch: f.fetch },
    );
    d.start();
    d.enqueue({ event: 'client.connected', client: client(1) });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      await waitFor(
        () => store.head(target)?.attempts === attempt && clock.nextAt() !== undefined,
        `attempt ${attempt}`,
      );
      assert.equal(f.calls.length, attempt);
      assert.equal(store.head(target)?.last_error, 'HTTP 503: busy');
      const next = clock.nextAt();
      assert.ok(next !== undefined);
      delays.push(next - clock.now);
      clock.advance(next - clock.now - 1);
      await new Promise((r) => setImmediate(r));
      assert.equal(f.calls.length, attempt, 'not retried early');
      clock.advance(1);
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 5000, 5000]);
    await waitFor(() => d.stats().pending === 0, 'delivered');
    assert.deepEqual(
      f.calls.map((c) => c.headers['x-webhook-attempt']),
      ['1', '2', '3', '4', '5', '6'],
    );
    assert.equal(new Set(f.calls.map((c) => c.body)).size, 1, 'same body on every attempt');
  });

  test('jitter keeps each delay within [d/2, d]', async () => {
    const clock = new FakeClock();
    const f = fakeFetch(() => new Response(null, { status: 500 }));
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const { d, store } = dispatcher(
      db,
      { url, baseDelayMs: 1000 },
      { now: () => clock.now, timers: clock.timers, fetch: f.fetch, random: () => 0 },
    );
    d.start();
    d.enqueue({ event: 'client.connected', client: client(1) });
    await waitFor(() => store.head(target)?.attempts === 1 && clock.nextAt() !== undefined, 'attempt');
    assert.equal(clock.nextAt(), clock.now + 500);
  });

  test('dead letter after maxAttempts; the next event waits for it; requeue delivers it', async () => {
    const clock = new FakeClock();
    let healthy = false;
    const f = fakeFetch(() => new Response('down', { status: healthy ? 200 : 500 }));
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const { d, store } = dispatcher(
      db,
      { url, maxRetries: 1, maxAttempts: 3, baseDelayMs: 100 },
      { now: () => clock.now, timers: clock.timers, fetch: f.fetch },
    );
    d.start();
    const first = d.enqueue({ event: 'command_executed', client: client(1), data: { n: 1 } });
    const second = d.enqueue({ event: 'command_executed', client: client(1), data: { n: 2 } });
    for (let attempt = 1; attempt <= 2; attempt++) {
      await waitFor(
        () => store.head(target)?.attempts === attempt && clock.nextAt() !== undefined,
        `attempt ${attempt}`,
      );
      assert.ok(
        f.calls.every((c) => c.headers['x-webhook-id'] === first.id),
        'second waits behind first',
      );
      clock.advance(clock.nextAt()! - clock.now);
    }
    await waitFor(() => d.stats().dead === 1, 'dead letter');
    const [dead] = d.deadLetters();
    assert.equal(dead?.id, first.id);
    assert.equal(dead?.attempts, 3);
    assert.match(dead?.last_error ?? '', /gave up after 3 attempts; last error: HTTP 500: down/);
    // The head is dead: the second event is now tried.
    await waitFor(
      () => f.calls.at(-1)?.headers['x-webhook-id'] === second.id && clock.nextAt() !== undefined,
      'second event tried and failed',
    );

    healthy = true;
    clock.advance(clock.nextAt()! - clock.now);
    await waitFor(() => d.stats().pending === 0, 'second delivered');
    assert.equal(d.requeueDeadLetters(), 1);
    await waitFor(() => d.stats().pending === 0 && d.stats().dead === 0, 'requeued delivered');
    assert.equal(f.calls.at(-1)?.headers['x-webhook-id'], first.id);
    assert.deepEqual(d.deadLetters(), []);
  });

  test('dead letters are kept for deadLetterRetentionDays, then purged', async () => {
    const clock = new FakeClock();
    const f = fakeFetch(() => new Response(null, { status: 500 }));
    const file = tempDb();
    const db = file.open();
    cleanups.push(() => db.close());
    const config = { url, maxRetries: 0, maxAttempts: 1, deadLetterRetentionDays: 30 };
    const first = dispatcher(db, config, { now: () => clock.now, timers: clock.timers, fetch: f.fetch });
    first.d.start();
    first.d.enqueue({ event: 'client.connected', client: client(1) });
    await waitFor(() => first.d.stats().dead === 1, 'dead letter');
    await first.d.close();
    clock.now += 29 * 86_400_000;
    const second = dispatcher(db, config, { now: () => clock.now, timers: clock.timers, fetch: f.fetch });
    second.d.start();
    assert.equal(second.d.stats().dead, 1, 'kept within the retention');
    await second.d.close();
    clock.now += 2 * 86_400_000;
    const third = dispatcher(db, config, { now: () => clock.now, timers: clock.timers, fetch: f.fetch });
    third.d.start();
    assert.equal(third.d.stats().dead, 0, 'purged after it');
  });

  test('after the quick retries an event past maxAge is dead, and older events queued behind it expire', async () => {
    const clock = new FakeClock();
    const f = fakeFetch(() => new Response(null, { status: 502 }));
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const { d, store } = dispatcher(
      db,
      { url, maxRetries: 2, maxAgeS: 60, baseDelayMs: 1000, maxDelayMs: 30_000 },
      { now: () => clock.now, timers: clock.timers, fetch: f.fetch },
    );
    d.start();
    d.enqueue({ event: 'command_executed', client: client(1), data: { n: 1 } });
    d.enqueue({ event: 'command_executed', client: client(1), data: { n: 2 } });
    let attempts = 0;
    while (d.stats().dead === 0) {
      attempts++;
      await waitFor(
        () =>
          (store.head(target)?.attempts === attempts && clock.nextAt() !== undefined) || d.stats().dead > 0,
        `attempt ${attempts}`,
      );
      if (d.stats().dead > 0) break;
      clock.advance(clock.nextAt()! - clock.now);
    }
    // Failures at 0, 1, 3, 7, 15, 31 s (delays 1, 2, 4, 8, 16, 30 s capped); the 7th, at 61 s, is past 60 s.
    assert.equal(f.calls.length, 7);
    await waitFor(() => d.stats().dead === 2, 'both dead');
    assert.equal(d.stats().pending, 0);
    assert.match(d.deadLetters()[0]?.last_error ?? '', /expired while waiting/);
    assert.equal(f.calls.length, 7, 'the expired event was never sent');
  });
});
