/**
 * Test helper for the WebhookDispatcher tests: a hand-driven clock, a recording loopback receiver,
 * a fake fetch, and `webhookDispatcherFixture()`, which gives a test file temporary databases and
 * dispatchers that are closed and removed after its tests.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { MIGRATIONS } from '../../src/db/migrations/index.ts';
import { WebhookOutboxStore } from '../../src/db/webhook-outbox-store.ts';
import type { Timers } from '../../src/timers.ts';
import { parseWebhookConfig, type WebhookConfigInput } from '../../src/webhooks/webhook-config.ts';
import { WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher.ts';

/** A hand-driven clock: timers fire only in `advance`. */
export class FakeClock {
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

export interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real loopback HTTP receiver recording every request (duplicates included). */
export class Receiver {
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
export async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A fetch with no socket: records every call and answers `respond(callNumber, init)`. */
export function fakeFetch(respond: (n: number, init: RequestInit) => Response | Promise<Response>): {
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

/** Test client `n` (0–9): a fixed uuid and display name. */
export const client = (n: number) => ({
  uuid: `00000000-0000-4000-8000-00000000000${n}`,
  display_name: `host-${n}`,
});

/**
 * Per test file: call once at the top level. Everything it makes is closed (in reverse order) and
 * its directories removed by an `after` hook it registers; a test adds its own closers to `cleanups`.
 */
export function webhookDispatcherFixture(): {
  cleanups: Array<() => Promise<void> | void>;
  tempDb(): { path: string; open(): Database };
  dispatcher(
    db: Database,
    config: WebhookConfigInput,
    extra?: Partial<ConstructorParameters<typeof WebhookDispatcher>[0]>,
  ): { d: WebhookDispatcher; store: WebhookOutboxStore };
} {
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

  return { cleanups, tempDb, dispatcher };
}
