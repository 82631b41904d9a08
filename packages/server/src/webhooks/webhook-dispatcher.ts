import { randomUUID } from 'node:crypto';
import type { OutboxRow, OutboxTarget, WebhookOutboxStore } from '../db/webhook-outbox-store.ts';
import { realTimers, type Timers } from '../timers.ts';
import { EarliestTimer } from './earliest-timer.ts';
import { watchOtherWriters } from './outbox-watch.ts';
import type { WebhookConfig } from './webhook-config.ts';
import { encodeWebhookBody, type WebhookEventName } from './webhook-event.ts';
import { describe } from './webhook-post.ts';
import { type DispatchLog, WebhookSender } from './webhook-sender.ts';

export interface WebhookDispatcherOptions {
  store: WebhookOutboxStore;
  config: WebhookConfig;
  /** The client's own `webhook_url` (from the client store), looked up at enqueue time. */
  clientWebhookUrl?: (uuid: string) => string | null | undefined;
  fetch?: typeof globalThis.fetch;
  /** Milliseconds clock. */
  now?: () => number;
  timers?: Timers;
  /** [0, 1) source for backoff jitter. */
  random?: () => number;
  log?: DispatchLog;
  /**
   * How often (ms) to look for rows another process put in the outbox (`reach-server webhooks
   * --requeue`); a cheap `PRAGMA data_version` unless something changed. 0: never. Real time,
   * not `timers`, so it stays out of the retry schedule tests drive by hand.
   */
  externalChangeCheckMs?: number;
}

export interface WebhookEventInput {
  event: WebhookEventName;
  client: { uuid: string; display_name: string };
  data?: Record<string, unknown>;
  /** Overrides the `clientWebhookUrl` lookup for this event (null: no per-client target). */
  clientWebhookUrl?: string | null;
}

export interface EnqueueResult {
  /** The event's idempotency id. */
  id: string;
  /** Target URLs it was stored for (0: no webhook configured, nothing stored). */
  targets: number;
}

interface TargetState extends OutboxTarget {
  key: string;
  /** Cached head row; undefined means "load it". */
  head: OutboxRow | undefined;
  busy: boolean;
}

/** Pause after an outbox (SQLite) error before the dispatcher looks again. */
const OUTBOX_ERROR_RETRY_MS = 1000;

/**
 * Delivers webhook events from the SQLite outbox. `enqueue()` only INSERTs (one row per target URL)
 * and returns; sending happens later, off the caller's path. Per target (client uuid + URL) events
 * go out one at a time in insertion order: event N+1 waits until N is delivered or dead. Across
 * targets at most `config.concurrency` requests are in flight. Failures are retried with capped
 * exponential backoff (see `nextRetry`), then kept as dead letters. Delivery is at-least-once: a
 * receiver deduplicates by the payload's `id` / `X-Webhook-Id`. This class decides which row goes
 * out when; a `WebhookSender` makes each attempt and records its outcome.
 */
export class WebhookDispatcher {
  readonly #store: WebhookOutboxStore;
  readonly #config: WebhookConfig;
  readonly #clientUrl: (uuid: string) => string | null | undefined;
  readonly #now: () => number;
  readonly #log: DispatchLog | undefined;
  readonly #sender: WebhookSender;
  /** Targets with (possibly) pending rows; insertion order is the round-robin order. */
  readonly #targets = new Map<string, TargetState>();
  readonly #inflight = new Set<Promise<void>>();
  #state: 'new' | 'running' | 'closed' = 'new';
  #active = 0;
  #pumpQueued = false;
  /** Wakes the pump for the earliest head that is not due yet. */
  readonly #wake: EarliestTimer;
  #closing: Promise<void> | undefined;
  readonly #externalCheckMs: number;
  #stopWatch: (() => void) | undefined;

  constructor(options: WebhookDispatcherOptions) {
    this.#store = options.store;
    this.#config = options.config;
    this.#clientUrl = options.clientWebhookUrl ?? (() => undefined);
    this.#now = options.now ?? Date.now;
    this.#wake = new EarliestTimer(options.timers ?? realTimers, () => this.#pump());
    this.#log = options.log;
    this.#externalCheckMs = options.externalChangeCheckMs ?? 2000;
    this.#sender = new WebhookSender({
      store: options.store,
      config: options.config,
      fetch: options.fetch ?? globalThis.fetch,
      now: this.#now,
      random: options.random ?? Math.random,
      log: options.log,
    });
  }

  /** Picks up every pending row (from before a restart too), due at once, and starts sending. */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    this.#store.makeAllDue(this.#now());
    this.#sender.purgeDeadLetters(this.#now());
    for (const t of this.#store.pendingTargets()) this.#track(t);
    this.#schedulePump();
    if (this.#externalCheckMs > 0) {
      // Pending rows another process added (a requeue from the CLI) are picked up without a restart.
      this.#stopWatch = watchOtherWriters(
        this.#store,
        this.#externalCheckMs,
        () => this.#reload(this.#store.pendingTargets()),
        (err) => this.#log?.warn({ error: describe(err) }, 'webhook outbox error'),
      );
    }
  }

  /**
   * Stores the event for every target (global URL, client URL; the same URL once) and returns.
   * Never waits for the network and never throws (a tool call must not fail because of a webhook):
   * if the outbox cannot be written the event is logged as lost and `targets` is 0. Works before
   * `start()` too (rows wait in the outbox). A body over 256 KiB has its `data` replaced by
   * `{ truncated: true, original_bytes }`.
   */
  enqueue(input: WebhookEventInput): EnqueueResult {
    const id = randomUUID();
    try {
      const urls = new Set<string>();
      if (this.#config.url !== undefined) urls.add(this.#config.url);
      const own =
        input.clientWebhookUrl !== undefined ? input.clientWebhookUrl : this.#clientUrl(input.client.uuid);
      if (own) urls.add(own);
      if (urls.size === 0) return { id, targets: 0 };
      const now = this.#now();
      const body = encodeWebhookBody({
        id,
        event: input.event,
        timestamp: new Date(now).toISOString(),
        client: { uuid: input.client.uuid, display_name: input.client.display_name },
        data: input.data ?? {},
      });
      this.#store.insert(
        [...urls].map((url) => ({
          id,
          event: input.event,
          client_uuid: input.client.uuid,
          url,
          body,
          created_at: now,
        })),
      );
      for (const url of urls) this.#track({ client_uuid: input.client.uuid, url });
      this.#schedulePump();
      return { id, targets: urls.size };
    } catch (err) {
      this.#log?.warn(
        { id, event: input.event, error: describe(err) },
        'webhook event lost: outbox write failed',
      );
      return { id, targets: 0 };
    }
  }

  /** Dead letters, newest first. */
  deadLetters(limit = 100): OutboxRow[] {
    return this.#store.deadLetters(limit);
  }

  /**
   * Puts dead letters (all, or the given `seq`s) back in the queue with a fresh retry window; they
   * go out ahead of newer events of their target. Returns how many.
   */
  requeueDeadLetters(seqs?: readonly number[]): number {
    const { rows, targets } = this.#store.requeue(this.#now(), seqs);
    this.#reload(targets);
    return rows;
  }

  /** Rows waiting or in flight, and dead letters. */
  stats(): { pending: number; dead: number; inFlight: number } {
    this.#sender.flushDelivered();
    return { ...this.#store.counts(), inFlight: this.#active };
  }

  /**
   * Stops sending: aborts requests in flight (their rows stay pending and are sent again after the
   * next start, with the same id) and waits for them to settle. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      this.#wake.clear();
      this.#stopWatch?.();
      this.#sender.close();
      await Promise.allSettled([...this.#inflight]);
      try {
        this.#sender.flushDelivered();
      } catch (err) {
        // The database was closed first: those rows are simply sent again (same id) after a restart.
        this.#log?.warn({ error: describe(err) }, 'webhook outbox error');
      }
    })();
    return this.#closing;
  }

  /** Tracks `targets` and loads their heads again (a requeued row goes ahead of a cached head). */
  #reload(targets: readonly OutboxTarget[]): void {
    for (const t of targets) {
      const state = this.#track(t);
      if (!state.busy) state.head = undefined;
    }
    this.#schedulePump();
  }

  #track(t: OutboxTarget): TargetState {
    const key = `${t.client_uuid}\n${t.url}`;
    let state = this.#targets.get(key);
    if (state === undefined) {
      state = { key, client_uuid: t.client_uuid, url: t.url, head: undefined, busy: false };
      this.#targets.set(key, state);
    }
    return state;
  }

  /** Coalesces many enqueues into one pump on the next turn of the event loop. */
  #schedulePump(): void {
    if (this.#state !== 'running' || this.#pumpQueued) return;
    this.#pumpQueued = true;
    setImmediate(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** Starts every due head it has room for, then arms one timer for the earliest future head. */
  #pump(): void {
    if (this.#state !== 'running') return;
    try {
      this.#pumpOnce();
    } catch (err) {
      // The outbox is unreadable (disk, locked file): try again shortly instead of crashing the server.
      this.#log?.warn({ error: describe(err) }, 'webhook outbox error');
      this.#armTimer(this.#now() + OUTBOX_ERROR_RETRY_MS, this.#now());
    }
  }

  #pumpOnce(): void {
    this.#sender.flushDelivered();
    const now = this.#now();
    let earliest = Number.POSITIVE_INFINITY;
    for (const t of [...this.#targets.values()]) {
      if (t.busy) continue;
      t.head ??= this.#store.head(t);
      if (t.head === undefined) {
        this.#targets.delete(t.key);
        continue;
      }
      if (t.head.next_attempt_at > now) {
        earliest = Math.min(earliest, t.head.next_attempt_at);
        continue;
      }
      if (this.#active >= this.#config.concurrency) continue;
      this.#startSend(t, t.head);
    }
    this.#armTimer(earliest, now);
  }

  #armTimer(at: number, now: number): void {
    if (this.#state !== 'running') return;
    this.#wake.arm(at, now);
  }

  #startSend(t: TargetState, row: OutboxRow): void {
    t.busy = true;
    this.#active++;
    const p = this.#sender
      .send(row)
      .catch((err: unknown) => {
        this.#log?.warn({ id: row.id, error: describe(err) }, 'webhook outbox error');
        return 'error' as const;
      })
      .then((result) => {
        this.#inflight.delete(p);
        this.#active--;
        t.busy = false;
        t.head = undefined;
        if (result === 'delivered' || result === 'failed') {
          // Round robin: a target that just sent goes to the back of the line.
          this.#targets.delete(t.key);
          this.#targets.set(t.key, t);
        }
        if (result === 'error') this.#armTimer(this.#now() + OUTBOX_ERROR_RETRY_MS, this.#now());
        else this.#schedulePump();
      });
    this.#inflight.add(p);
  }
}
