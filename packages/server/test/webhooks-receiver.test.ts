import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { openDatabase } from '../src/db/database.ts';
import { MIGRATIONS } from '../src/db/migrations/index.ts';
import { WebhookOutboxStore } from '../src/db/webhook-outbox-store.ts';
import { runWebhookTestReceiver, webhookTestReceiverCommand } from '../src/webhooks/test-receiver.ts';
import { parseWebhookConfig } from '../src/webhooks/webhook-config.ts';
import { WebhookDispatcher } from '../src/webhooks/webhook-dispatcher.ts';
import { signWebhook } from '../src/webhooks/webhook-signature.ts';

const dir = mkdtempSync(join(tmpdir(), 'reach-webhook-receiver-'));
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function lines(file: string): Array<{ verified: boolean | null; payload: { id: string; event: string } }> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

async function post(port: number, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/any/path`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
}

describe('webhook test receiver', () => {
  test('with a secret: 401 on a missing or bad signature, logs valid events once', async () => {
    const logFile = join(dir, 'signed.jsonl');
    const secret = 'rcv-secret';
    const r = await runWebhookTestReceiver({ port: 0, logFile, secret });
    cleanups.push(() => r.close());
    const body = JSON.stringify({
      id: 'e1',
      event: 'client.connected',
      client: { uuid: 'u', display_name: 'd' },
    });
    const ts = Math.floor(Date.now() / 1000);
    assert.equal((await post(r.port, body)).status, 401);
    assert.equal(
      (
        await post(r.port, body, {
          'x-webhook-timestamp': String(ts),
          'x-webhook-signature': signWebhook('wrong', body, ts),
        })
      ).status,
      401,
    );
    // A replayed (old) but otherwise valid request is refused too.
    assert.equal(
      (
        await post(r.port, body, {
          'x-webhook-timestamp': String(ts - 3600),
          'x-webhook-signature': signWebhook(secret, body, ts - 3600),
        })
      ).status,
      401,
    );
    const good = { 'x-webhook-timestamp': String(ts), 'x-webhook-signature': signWebhook(secret, body, ts) };
    const first = await post(r.port, body, good);
    assert.equal(first.status, 200);
    assert.deepEqual(await first.json(), { ok: true, duplicate: false });
    const again = await post(r.port, body, good);
    assert.deepEqual(await again.json(), { ok: true, duplicate: true });
    assert.deepEqual(r.stats(), { received: 1, duplicates: 1, rejected: 3 });
    const logged = lines(logFile);
    assert.equal(logged.length, 1);
    assert.equal(logged[0]?.verified, true);
    assert.equal(logged[0]?.payload.id, 'e1');
  });

  test('without a secret: accepts unsigned events; refuses non-POST, bad JSON and oversized bodies', async () => {
    const logFile = join(dir, 'plain.jsonl');
    const r = await runWebhookTestReceiver({ port: 0, logFile });
    cleanups.push(() => r.close());
    assert.equal((await post(r.port, '{"id":"x","event":"file_accessed"}')).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${r.port}/`)).status, 405);
    assert.equal((await post(r.port, 'not json')).status, 400);
    assert.equal((await post(r.port, '{"event":"no id"}')).status, 400);
    assert.equal(
      (await post(r.port, JSON.stringify({ id: 'big', event: 'e', pad: 'x'.repeat(1_100_000) }))).status,
      413,
    );
    assert.deepEqual(
      lines(logFile).map((l) => [l.payload.id, l.verified]),
      [['x', null]],
    );
  });

  test('a restarted receiver still deduplicates ids already in its log', async () => {
    const logFile = join(dir, 'restart.jsonl');
    const r1 = await runWebhookTestReceiver({ port: 0, logFile });
    await post(r1.port, '{"id":"keep","event":"e"}');
    await r1.close();
    const r2 = await runWebhookTestReceiver({ port: 0, logFile });
    cleanups.push(() => r2.close());
    assert.deepEqual(await (await post(r2.port, '{"id":"keep","event":"e"}')).json(), {
      ok: true,
      duplicate: true,
    });
    assert.equal(lines(logFile).length, 1);
  });

  test('end to end: the dispatcher signs, the receiver verifies and logs every event', async () => {
    const logFile = join(dir, 'e2e.jsonl');
    const secret = 'e2e-secret';
    const r = await runWebhookTestReceiver({ port: 0, logFile, secret });
    cleanups.push(() => r.close());
    const db = openDatabase(':memory:', MIGRATIONS);
    const d = new WebhookDispatcher({
      store: new WebhookOutboxStore(db),
      config: parseWebhookConfig({ url: `http://127.0.0.1:${r.port}/hook`, secret }),
    });
    cleanups.push(async () => {
      await d.close();
      db.close();
    });
    d.start();
    const ids = ['client.connected', 'command_executed', 'client.disconnected'].map(
      (event) =>
        d.enqueue({
          event: event as 'client.connected',
          client: { uuid: 'c-1', display_name: 'box' },
          data: { note: event },
        }).id,
    );
    const deadline = Date.now() + 20_000;
    while (d.stats().pending > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    const logged = lines(logFile);
    assert.deepEqual(
      logged.map((l) => l.payload.id),
      ids,
    );
    assert.ok(logged.every((l) => l.verified === true));
    assert.deepEqual(
      logged.map((l) => l.payload.event),
      ['client.connected', 'command_executed', 'client.disconnected'],
    );
  });

  test('webhookTestReceiverCommand: parses flags, serves, stops on the signal', async () => {
    const logFile = join(dir, 'cmd.jsonl');
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const stop = new AbortController();
    const done = webhookTestReceiverCommand(['--port', '0', '--log', logFile], {
      stdout,
      signal: stop.signal,
    });
    const deadline = Date.now() + 10_000;
    while (!/127\.0\.0\.1:\d+/.test(out) && Date.now() < deadline)
      await new Promise((res) => setTimeout(res, 10));
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)?.[1]);
    assert.ok(port > 0, out);
    assert.equal((await post(port, '{"id":"c1","event":"e"}')).status, 200);
    stop.abort();
    assert.equal(await done, 0);
    assert.match(out, /received 1, duplicates 0, rejected 0/);
    assert.equal(lines(logFile).length, 1);
  });

  test('webhookTestReceiverCommand: usage errors exit 2', async () => {
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    assert.equal(await webhookTestReceiverCommand(['--port', 'x'], { stderr }), 2);
    assert.equal(await webhookTestReceiverCommand(['--bogus'], { stderr }), 2);
    assert.match(err, /usage: reach-server webhook-test-receiver/);
  });
});
