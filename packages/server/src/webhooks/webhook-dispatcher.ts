import { randomUUID } from 'node:crypto';
import type { OutboxRow, OutboxTarget, WebhookOutboxStore } from '../db/webhook-outbox-store.ts';
import { realTimers, type Timers } from '../timers.ts';
import { watchOtherWriters } from './outbox-watch.ts';
import type { WebhookConfig } from './webhook-config.ts';
import type { WebhookEventName, WebhookPayload } from './webhook-event.ts';
import { describe, origin, postWebhook } from './webhook-post.ts';
import { nextRetry } from './webhook-retry.ts';

/** The few logger methods used (a pino logger fits). Never given a body, secret or full URL. */
export interface DispatchLog {
  warn(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

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
const DAY_MS = 86_400_000;
/** Largest webhook body stored and sent. */
const MAX_EVENT_BYTES = 256 * 1024;

/**
 * Delivers webhook events from the SQLite outbox. `enqueue()` only INSERTs (one row per target URL)
 * and returns; sending happens later, off the caller's path. Per target (client uuid + URL) events
 * go out one at a time in insertion order: event N+1 waits until N is delivered or dead. Across
 * targets at most `config.concurrency` requests are in flight. Failures are retried with capped
 * exponential backoff (see `nextRetry`), then kept as dead letters. Delivery is at-least-once: a
 * receiver deduplicates by the payload's `id` / `X-Webhook-Id`.
 */
export class WebhookDispatcher {
  readonly #store: WebhookOutboxStore;
  readonly #config: WebhookConfig;
  readonly #clientUrl: (uuid: string) => string | null | undefined;
  readonly #fetch: typeof globalThis.fetch;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #log: DispatchLog | undefined;
  /** Targets with (possibly) pending rows; insertion order is the round-robin order. */
  readonly #targets = new Map<string, TargetState>();
  readonly #inflight = new Set<Promise<void>>();
  /** Delivered rows not yet deleted from the outbox. */
  readonly #delivered: number[] = [];
  /** One controller per request in flight (a per-request timeout; all aborted by close()). */
  readonly #controllers = new Set<AbortController>();
  #state: 'new' | 'running' | 'closed' = 'new';
  #active = 0;
  #pumpQueued = false;
  #timer: { handle: unknown; at: number } | undefined;
  #closing: Promise<void> | undefined;
  readonly #externalCheckMs: number;
  #stopWatch: (() => void) | undefined;

  constructor(options: WebhookDispatcherOptions) {
    this.#store = options.store;
    this.#config = options.config;
    this.#clientUrl = options.clientWebhookUrl ?? (() => undefined);
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? realTimers;
    this.#random = options.random ?? Math.random;
    this.#log = options.log;
    this.#externalCheckMs = options.externalChangeCheckMs ?? 2000;
  }

  /** Picks up every pending row (from before a restart too), due at once, and starts sending. */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    this.#store.makeAllDue(this.#now());
    this.#store.purgeDeadLetters(this.#now() - this.#config.deadLetterRetentionDays * DAY_MS);
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
      const payload: WebhookPayload = {
        id,
        event: input.event,
        timestamp: new Date(now).toISOString(),
        client: { uuid: input.client.uuid, display_name: input.client.display_name },
        data: input.data ?? {},
      };
      let body = JSON.stringify(payload);
      if (Buffer.byteLength(body) > MAX_EVENT_BYTES) {
        body = JSON.stringify({
          ...payload,
          data: { truncated: true, original_bytes: Buffer.byteLength(body) },
        });
      }
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
    this.#flushDelivered();
    return { ...this.#store.counts(), inFlight: this.#active };
  }

  /**
   * Stops sending: aborts requests in flight (their rows stay pending and are sent again after the
   * next start, with the same id) and waits for them to settle. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      this.#clearTimer();
      this.#stopWatch?.();
      for (const c of this.#controllers) c.abort();
      await Promise.allSettled([...this.#inflight]);
      try {
        this.#flushDelivered();
      } catch (err) {
        // The database was closed first: those rows are simply sent again (same id) after a restart.
        this.#log?.warn({ error: describe(err) }, 'webhook outbox error');
      }
    })();
    return this.#closing;
  }

  #flushDelivered(): void {
    if (this.#delivered.length === 0) return;
    this.#store.markDelivered(this.#delivered);
    this.#delivered.length = 0;
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
    this.#flushDelivered();
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
    if (this.#state !== 'running' || at === Number.POSITIVE_INFINITY) return;
    if (this.#timer !== undefined && this.#timer.at <= at) return;
    this.#clearTimer();
    const handle = this.#timers.setTimeout(
      () => {
        this.#timer = undefined;
        this.#pump();
      },
      Math.max(0, at - now),
    );
    this.#timer = { handle, at };
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.#timers.clearTimeout(this.#timer.handle);
    this.#timer = undefined;
  }

  #startSend(t: TargetState, row: OutboxRow): void {
    t.busy = true;
    this.#active++;
    const p = this.#send(row)
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

  async #send(row: OutboxRow): Promise<'delivered' | 'failed' | 'aborted'> {
    const attempt = row.attempts + 1;
    // A plain controller per request (AbortSignal.any over a long-lived signal can leak); close() aborts it.
    const controller = new AbortController();
    this.#controllers.add(controller);
    let error: string;
    try {
      const outcome = await postWebhook({
        fetch: this.#fetch,
        row,
        attempt,
        secret: this.#config.secret,
        nowS: Math.floor(this.#now() / 1000),
        timeoutMs: this.#config.timeoutS * 1000,
        controller,
      });
      if (outcome.ok) {
        // Deleted in a batch at the next pump: a crash before that only means a redelivery (same id).
        this.#delivered.push(row.seq);
        this.#log?.debug(
          { id: row.id, event: row.event, target: origin(row.url), attempt },
          'webhook delivered',
        );
        return 'delivered';
      }
      error = outcome.error;
    } catch (err) {
      if (this.#state === 'closed') return 'aborted';
      error = describe(err);
    } finally {
      this.#controllers.delete(controller);
    }
    if (this.#state === 'closed') return 'aborted';
    const now = this.#now();
    const decision = nextRetry(this.#config, attempt, now - row.retry_since, this.#random);
    if (decision.dead) {
      this.#store.markDead(row.seq, attempt, now, `${decision.reason}; last error: ${error}`);
      this.#store.purgeDeadLetters(now - this.#config.deadLetterRetentionDays * DAY_MS);
      // Rows queued behind this one that are past their own window die with it, so a receiver
      // that is gone for good does not grow an endless backlog.
      const expired = this.#store.expireTarget(
        row,
        now - this.#config.maxAgeS * 1000,
        now,
        `expired while waiting behind a dead letter; last error: ${error}`,
      );
      this.#log?.warn(
        { id: row.id, event: row.event, target: origin(row.url), attempts: attempt, expired, error },
        'webhook dead letter',
      );
    } else {
      this.#store.markRetry(row.seq, attempt, now, error, now + decision.delayMs);
      this.#log?.debug(
        { id: row.id, target: origin(row.url), attempt, retryInMs: decision.delayMs, error },
        'webhook attempt failed',
      );
    }
    return 'failed';
  }
}
