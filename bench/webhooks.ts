/**
 * `npm run bench:webhooks`: events per second the webhook dispatcher sustains from its SQLite
 * outbox to a loopback receiver (a separate process, so the two do not share one core's event loop).
 * Scenarios: one client (strictly ordered, one request at a time), many clients (bounded
 * concurrency), and many clients with HMAC signing checked by the receiver. Each runs several rounds;
 * medians are printed (2-core machines vary ~1.5× between runs).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openDatabase } from '../packages/server/src/db/database.ts';
import { MIGRATIONS } from '../packages/server/src/db/migrations/index.ts';
import { WebhookOutboxStore } from '../packages/server/src/db/webhook-outbox-store.ts';
import { parseWebhookConfig } from '../packages/server/src/webhooks/webhook-config.ts';
import { WebhookDispatcher } from '../packages/server/src/webhooks/webhook-dispatcher.ts';
import { verifyWebhookSignature } from '../packages/server/src/webhooks/webhook-signature.ts';
import { formatTable, median } from './lib/measure.ts';

const SECRET = 'bench-secret';

/** Child mode: a minimal receiver answering 200 (401 on a bad signature when signing is on). */
function runReceiver(): void {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['x-webhook-signature'] !== undefined) {
        const ok = verifyWebhookSignature({
          secret: SECRET,
          body: Buffer.concat(chunks),
          timestamp: req.headers['x-webhook-timestamp'] as string,
          signature: req.headers['x-webhook-signature'] as string,
        });
        if (!ok) {
          res.writeHead(401).end();
          return;
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
}

interface Scenario {
  name: string;
  clients: number;
  signed: boolean;
}

async function runRound(
  url: string,
  s: Scenario,
  events: number,
  concurrency: number,
): Promise<{ eps: number; enqueueEps: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'reach-bench-webhooks-'));
  const db = openDatabase(join(dir, 'reach.db'), MIGRATIONS);
  const dispatcher = new WebhookDispatcher({
    store: new WebhookOutboxStore(db),
    config: parseWebhookConfig({ url, concurrency, ...(s.signed ? { secret: SECRET } : {}) }),
  });
  try {
    dispatcher.start();
    const t0 = performance.now();
    for (let i = 0; i < events; i++) {
      const n = i % s.clients;
      dispatcher.enqueue({
        event: 'command_executed',
        client: { uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, display_name: `host-${n}` },
        data: { cmd: 'uptime', returncode: 0, duration_ms: 3, seq: i },
      });
    }
    const tEnqueued = performance.now();
    while (dispatcher.stats().pending > 0) await new Promise((r) => setTimeout(r, 10));
    const t1 = performance.now();
    const { dead } = dispatcher.stats();
    if (dead > 0) throw new Error(`${dead} dead letters`);
    return { eps: events / ((t1 - t0) / 1000), enqueueEps: events / ((tEnqueued - t0) / 1000) };
  } finally {
    await dispatcher.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '5000' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '8' },
    },
  });
  const events = Number(values.events);
  const rounds = Number(values.rounds);
  const concurrency = Number(values.concurrency);

  const child: ChildProcess = fork(import.meta.filename, ['receiver'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`receiver exited ${code}`)));
    });
    const url = `http://127.0.0.1:${port}/hook`;
    const scenarios: Scenario[] = [
      { name: '1 client (ordered, 1 in flight)', clients: 1, signed: false },
      { name: `16 clients (${concurrency} in flight)`, clients: 16, signed: false },
      { name: `16 clients, HMAC signed + verified`, clients: 16, signed: true },
    ];
    await runRound(url, scenarios[1]!, 500, concurrency); // warm-up (JIT, keep-alive sockets)
    const rows: string[][] = [['scenario', 'events', 'delivered/s (median)', 'enqueue/s (median)', 'rounds']];
    for (const s of scenarios) {
      const results: Array<{ eps: number; enqueueEps: number }> = [];
      for (let r = 0; r < rounds; r++) results.push(await runRound(url, s, events, concurrency));
      rows.push([
        s.name,
        String(events),
        median(results.map((r) => r.eps)).toFixed(0),
        median(results.map((r) => r.enqueueEps)).toFixed(0),
        results.map((r) => r.eps.toFixed(0)).join(' / '),
      ]);
    }
    process.stdout.write(
      `Webhook dispatcher → loopback receiver (separate process); durable SQLite outbox (WAL) on ${tmpdir()}\n\n` +
        `${formatTable(rows)}\n`,
    );
  } finally {
    child.kill();
  }
}

if (process.argv[2] === 'receiver') runReceiver();
else await main();
