import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { verifyWebhookSignature } from '../src/webhooks/webhook-signature.ts';
import { webhooksCommand } from '../src/webhooks/webhooks-command.ts';
import {
  client,
  FakeClock,
  Receiver,
  waitFor,
  webhookDispatcherFixture,
} from './helpers/webhook-dispatcher-fixture.ts';

const { cleanups, tempDb, dispatcher } = webhookDispatcherFixture();

describe('WebhookDispatcher over real sockets', () => {
  test('receiver down during 20 events, dispatcher restarted, receiver up: all 20 delivered as sent, in order per client', async () => {
    const secret = 'restart-secret';
    const receiver = new Receiver();
    await receiver.listen();
    const port = receiver.port;
    const url = receiver.url;
    await receiver.close(); // down: connections are refused

    const file = tempDb();
    const clock = new FakeClock();
    let db = file.open();
    const first = dispatcher(db, { url, secret }, { now: () => clock.now, timers: clock.timers });
    first.d.start();
    const expected = new Map<string, { clientNo: number; body: object }>();
    const order = new Map<number, string[]>();
    for (let i = 0; i < 20; i++) {
      const n = i % 3;
      const c = client(n);
      clock.now += 1000;
      const r = first.d.enqueue({ event: 'command_executed', client: c, data: { i, cmd: `echo ${i}` } });
      assert.equal(r.targets, 1);
      expected.set(r.id, {
        clientNo: n,
        body: {
          id: r.id,
          event: 'command_executed',
          timestamp: new Date(clock.now).toISOString(),
          client: c,
          data: { i, cmd: `echo ${i}` },
        },
      });
      order.set(n, [...(order.get(n) ?? []), r.id]);
    }
    // Every target's head is tried and fails (connection refused); nothing else is sent.
    await waitFor(
      () =>
        [0, 1, 2].every((n) => (first.store.head({ client_uuid: client(n).uuid, url })?.attempts ?? 0) >= 1),
      'first attempts to fail',
    );
    assert.deepEqual(first.d.stats(), { pending: 20, dead: 0, inFlight: 0 });
    await first.d.close();
    db.close();

    // "Restart": a new database handle and dispatcher on the same file; the receiver comes back.
    await receiver.listen(port);
    cleanups.push(() => receiver.close());
    db = file.open();
    cleanups.push(() => db.close());
    const second = dispatcher(db, { url, secret }, { now: () => clock.now, timers: clock.timers });
    second.d.start();
    await waitFor(
      () => new Set(receiver.hits.map((h) => h.headers['x-webhook-id'])).size === 20,
      '20 events',
    );
    await waitFor(() => second.d.stats().pending === 0, 'outbox to drain');
    assert.deepEqual(second.d.stats(), { pending: 0, dead: 0, inFlight: 0 });

    const firstBodyById = new Map<string, string>();
    const arrivals = new Map<number, string[]>();
    for (const hit of receiver.hits) {
      const id = String(hit.headers['x-webhook-id']);
      const exp = expected.get(id);
      assert.ok(exp, `unknown id ${id}`);
      assert.deepEqual(JSON.parse(hit.body), exp.body);
      assert.ok(
        verifyWebhookSignature({
          secret,
          body: hit.body,
          timestamp: hit.headers['x-webhook-timestamp'] as string,
          signature: hit.headers['x-webhook-signature'] as string,
          now: clock.now,
        }),
        'signature verifies',
      );
      // A duplicate (at-least-once) must be byte-identical with the same id.
      const prev = firstBodyById.get(id);
      if (prev === undefined) {
        firstBodyById.set(id, hit.body);
        arrivals.set(exp.clientNo, [...(arrivals.get(exp.clientNo) ?? []), id]);
      } else assert.equal(hit.body, prev);
    }
    for (const [n, ids] of order) assert.deepEqual(arrivals.get(n), ids, `order of client ${n}`);
  });

  test('enqueue never waits for the receiver; one request per target, bounded across targets', async () => {
    const receiver = new Receiver();
    receiver.hold = true;
    await receiver.listen();
    cleanups.push(() => receiver.close());
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const { d } = dispatcher(db, { url: receiver.url, concurrency: 4 });
    d.start();
    for (let i = 0; i < 1000; i++) d.enqueue({ event: 'file_accessed', client: client(i % 6), data: { i } });
    // All 1000 are durable before the receiver has seen (let alone answered) anything.
    assert.equal(receiver.hits.length, 0);
    assert.equal(d.stats().pending, 1000);

    await waitFor(() => receiver.held === 4, '4 held requests');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(receiver.held, 4, 'no more than `concurrency` in flight');
    const inflightClients = receiver.hits.map(
      (h) => (JSON.parse(h.body) as { client: { uuid: string } }).client.uuid,
    );
    assert.equal(new Set(inflightClients).size, 4, 'at most one request per target');
    const more = d.enqueue({ event: 'file_accessed', client: client(0), data: { i: 'late' } });
    assert.equal(more.targets, 1);

    receiver.release();
    await waitFor(() => d.stats().pending === 0, 'all delivered', 60_000);
    assert.equal(receiver.hits.length, 1001);
    for (let n = 0; n < 6; n++) {
      const seen = receiver.hits
        .map((h) => JSON.parse(h.body) as { client: { uuid: string }; data: { i: number | string } })
        .filter((p) => p.client.uuid === client(n).uuid)
        .map((p) => p.data.i);
      const want = Array.from({ length: 1000 }, (_, i) => i).filter((i) => i % 6 === n) as Array<
        number | string
      >;
      if (n === 0) want.push('late');
      assert.deepEqual(seen, want, `client ${n} in order`);
    }
  });

  test('global and per-client URLs each get the event once, with the same id', async () => {
    const global = new Receiver();
    const own = new Receiver();
    await global.listen();
    await own.listen();
    cleanups.push(
      () => global.close(),
      () => own.close(),
    );
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const { d } = dispatcher(
      db,
      { url: global.url },
      { clientWebhookUrl: (uuid) => (uuid === client(1).uuid ? own.url : null) },
    );
    d.start();
    const a = d.enqueue({ event: 'client.connected', client: client(1) });
    const b = d.enqueue({ event: 'client.connected', client: client(2) });
    const c = d.enqueue({ event: 'client.unhealthy', client: client(2), clientWebhookUrl: global.url });
    assert.deepEqual([a.targets, b.targets, c.targets], [2, 1, 1]);
    await waitFor(() => d.stats().pending === 0, 'delivery');
    assert.deepEqual(
      global.hits.map((h) => h.headers['x-webhook-id']),
      [a.id, b.id, c.id],
    );
    assert.deepEqual(
      own.hits.map((h) => h.headers['x-webhook-id']),
      [a.id],
    );
    assert.equal(own.hits[0]?.body, global.hits[0]?.body);
    assert.equal(global.hits[0]?.headers['x-webhook-signature'], undefined, 'unsigned without a secret');
  });

  test('no URL configured: nothing is stored', () => {
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const { d } = dispatcher(db, {});
    assert.equal(d.enqueue({ event: 'client.connected', client: client(1) }).targets, 0);
    assert.equal(d.stats().pending, 0);
  });

  test('enqueue never throws: a closed database loses the event (logged); huge data is truncated', async () => {
    const db = tempDb().open();
    const warnings: string[] = [];
    const log = { warn: (_: object, msg: string) => warnings.push(msg), debug: () => {} };
    const { d, store } = dispatcher(db, { url: 'http://127.0.0.1:9/h' }, { log });
    const big = d.enqueue({
      event: 'command_executed',
      client: client(1),
      data: { out: 'x'.repeat(300_000) },
    });
    assert.equal(big.targets, 1);
    const row = store.head({ client_uuid: client(1).uuid, url: 'http://127.0.0.1:9/h' });
    const data = (JSON.parse(row?.body ?? '{}') as { data: { truncated: boolean; original_bytes: number } })
      .data;
    assert.equal(data.truncated, true);
    assert.ok(data.original_bytes > 300_000 && data.original_bytes < 300_400, String(data.original_bytes));
    db.close();
    assert.equal(d.enqueue({ event: 'client.connected', client: client(1) }).targets, 0);
    assert.deepEqual(warnings, ['webhook event lost: outbox write failed']);
  });

  test('a receiver that never answers times out and is retried', async () => {
    const receiver = new Receiver();
    receiver.hold = true;
    await receiver.listen();
    cleanups.push(() => receiver.close());
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const clock = new FakeClock();
    const { d, store } = dispatcher(
      db,
      { url: receiver.url, timeoutS: 0.2 },
      { now: () => clock.now, timers: clock.timers },
    );
    d.start();
    d.enqueue({ event: 'client.connected', client: client(1) });
    const target = { client_uuid: client(1).uuid, url: receiver.url };
    await waitFor(
      () => store.head(target)?.attempts === 1 && clock.nextAt() !== undefined,
      'timed-out attempt',
    );
    assert.equal(store.head(target)?.last_error, 'timed out');
    assert.equal(clock.nextAt(), clock.now + 1000);
    receiver.release();
    clock.advance(1000);
    await waitFor(() => d.stats().pending === 0, 'retry delivered');
    assert.equal(receiver.hits.length, 2);
    assert.equal(receiver.hits[1]?.headers['x-webhook-attempt'], '2');
  });

  test('`reach-server webhooks --requeue` from another process reaches a running dispatcher, no restart', async () => {
    const receiver = new Receiver();
    receiver.status = 500;
    await receiver.listen();
    cleanups.push(() => receiver.close());
    const file = tempDb();
    const db = file.open();
    cleanups.push(() => db.close());
    const { d } = dispatcher(
      db,
      { url: receiver.url, maxRetries: 0, maxAttempts: 1 },
      { externalChangeCheckMs: 50 },
    );
    d.start();
    const sent = d.enqueue({ event: 'client.connected', client: client(1) });
    await waitFor(() => d.stats().dead === 1, 'dead letter');
    receiver.status = 200;
    // Several check intervals pass with nothing changed from outside: nothing is sent again.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(receiver.hits.length, 1);

    // The CLI, on its own connection to the same file, as an operator would run it.
    const out: string[] = [];
    const code = await webhooksCommand(['--requeue'], {
      dataDir: join(file.path, '..'),
      stdout: { write: (s: string) => out.push(s) },
    });
    assert.equal(code, 0);
    assert.match(out.join(''), /requeued 1 dead letter/);
    await waitFor(() => d.stats().pending === 0 && d.stats().dead === 0, 'requeued event delivered');
    assert.equal(receiver.hits.length, 2);
    assert.equal(receiver.hits[1]?.headers['x-webhook-id'], sent.id);
  });

  test('close() aborts a request in flight; the row stays pending and uncounted; close is idempotent', async () => {
    const receiver = new Receiver();
    receiver.hold = true;
    await receiver.listen();
    cleanups.push(() => receiver.close());
    const db = tempDb().open();
    cleanups.push(() => db.close());
    const { d, store } = dispatcher(db, { url: receiver.url });
    d.start();
    d.enqueue({ event: 'client.connected', client: client(1) });
    await waitFor(() => receiver.held === 1, 'request in flight');
    await Promise.all([d.close(), d.close()]);
    await d.close();
    const row = store.head({ client_uuid: client(1).uuid, url: receiver.url });
    assert.equal(row?.attempts, 0);
    assert.equal(d.stats().pending, 1);
  });
});
