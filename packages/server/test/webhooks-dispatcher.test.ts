import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Database, openDatabase } from '../src/db/database.ts';
import { MIGRATIONS } from '../src/db/migrations/index.ts';
import { WebhookOutboxStore } from '../src/db/webhook-outbox-store.ts';
import type { Timers } from '../src/timers.ts';
import { parseWebhookConfig, type WebhookConfigInput } from '../src/webhooks/webhook-config.ts';
import { WebhookDispatcher } from '../src/webhooks/webhook-dispatcher.ts';
import { verifyWebhookSignature } from '../src/webhooks/webhook-signature.ts';
import { webhooksCommand } from '../src/webhooks/webhooks-command.ts';

/** A hand-driven clock: timers fire only in `advance`. */
class FakeClock {
  now = Date.UTC(2026, 0, 1);
  #seq = 0;
  readonly #pending = new Map<number, { at: number; fn: () => void }>();
  readonly timers: Timers = {
    setTimeout: (fn, ms) => {
      const id = ++this.#seq;
      this.#pending.set(id, { at: this.now + ms, fn });
      return id;
    },
    clearTimeout: (h) => {
      this.#pending.delete(h as number);
    },
  };
  /** Time of the earliest armed timer (the dispatcher's next retry), if any. */
  nextAt(): number | undefined {
    let min: number | undefined;
    for (const t of this.#pending.values()) if (min === undefined || t.at < min) min = t.at;
    return min;
  }
  advance(ms: number): void {
    assert.ok(Number.isFinite(ms) && ms >= 0, `advance(${ms})`);
    this.now += ms;
    for (;;) {
      const due = [...this.#pending.entries()]
        .filter(([, t]) => t.at <= this.now)
        .sort((a, b) => a[1].at - b[1].at);
      const first = due[0];
      if (first === undefined) return;
      this.#pending.delete(first[0]);
      first[1].fn();
    }
  }
}

interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real loopback HTTP receiver recording every request (duplicates included). */
class Receiver {
  readonly hits: Hit[] = [];
  /** When set, requests are held (not answered) until `release()`. */
  hold = false;
  status = 200;
  readonly #held: ServerResponse[] = [];
  #server: Server | undefined;
  port = 0;

  async listen(port = 0): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (this.hold) this.#held.push(res);
        else res.writeHead(this.status).end('ok');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  get held(): number {
    return this.#held.length;
  }

  release(): void {
    this.hold = false;
    for (const res of this.#held.splice(0)) res.writeHead(200).end('ok');
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    for (const res of this.#held.splice(0)) res.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** Polls (real time) until `cond` holds; fails after `ms`. A wait, not a timing assertion. */
async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const dirs: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDb(): { path: string; open(): Database } {
  const dir = mkdtempSync(join(tmpdir(), 'reach-webhooks-'));
  dirs.push(dir);
  const path = join(dir, 'reach.db');
  return { path, open: () => openDatabase(path, MIGRATIONS) };
}

function fakeFetch(respond: (n: number, init: RequestInit) => Response | Promise<Response>): {
  fetch: typeof globalThis.fetch;
  calls: Array<{ url: string; headers: Record<string, string>; body: string; at: number }>;
  clock?: FakeClock;
} {
  const calls: Array<{ url: string; headers: Record<string, string>; body: string; at: number }> = [];
  const f = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    calls.push({
      url: String(input),
      headers: { ...(init?.headers as Record<string, string>) },
      body: String(init?.body),
      at: Date.now(),
    });
    return respond(calls.length, init ?? {});
  };
  return { fetch: f as typeof globalThis.fetch, calls };
}

function dispatcher(
  db: Database,
  config: WebhookConfigInput,
  extra: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]> = {},
): { d: WebhookDispatcher; store: WebhookOutboxStore } {
  const store = new WebhookOutboxStore(db);
  const d = new WebhookDispatcher({ store, config: parseWebhookConfig(config), random: () => 1, ...extra });
  cleanups.push(() => d.close());
  return { d, store };
}

const client = (n: number) => ({
  uuid: `00000000-0000-4000-8000-00000000000${n}`,
  display_name: `host-${n}`,
});

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
