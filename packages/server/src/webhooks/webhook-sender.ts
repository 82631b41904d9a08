import type { OutboxRow, WebhookOutboxStore } from '../db/webhook-outbox-store.ts';
import type { WebhookConfig } from './webhook-config.ts';
import { describe, origin, postWebhook } from './webhook-post.ts';
import { nextRetry } from './webhook-retry.ts';

/** The few logger methods used (a pino logger fits). Never given a body, secret or full URL. */
export interface DispatchLog {
  warn(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

export interface WebhookSenderOptions {
  store: WebhookOutboxStore;
  config: WebhookConfig;
  fetch: typeof globalThis.fetch;
  /** Milliseconds clock. */
  now: () => number;
  /** [0, 1) source for backoff jitter. */
  random: () => number;
  log: DispatchLog | undefined;
}

/** What became of one attempt: `aborted` (by `close()`) leaves the row as it was, still pending. */
export type SendResult = 'delivered' | 'failed' | 'aborted';

const DAY_MS = 86_400_000;

/**
 * Makes delivery attempts for the `WebhookDispatcher` and writes each outcome to the outbox: a
 * delivered row is deleted (in a batch, `flushDelivered`), a failed one gets its next attempt time
 * or becomes a dead letter. Which row to send, and when, is the dispatcher's business. Owns the
 * AbortController of every request in flight, so `close()` can cancel them all.
 */
export class WebhookSender {
  readonly #store: WebhookOutboxStore;
  readonly #config: WebhookConfig;
  readonly #fetch: typeof globalThis.fetch;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #log: DispatchLog | undefined;
  /** Delivered rows not yet deleted from the outbox. */
  readonly #delivered: number[] = [];
  /** One controller per request in flight (a per-request timeout; all aborted by close()). */
  readonly #controllers = new Set<AbortController>();
  #closed = false;

  constructor(options: WebhookSenderOptions) {
    this.#store = options.store;
    this.#config = options.config;
    this.#fetch = options.fetch;
    this.#now = options.now;
    this.#random = options.random;
    this.#log = options.log;
  }

  /** Deletes the rows delivered since the last call from the outbox. */
  flushDelivered(): void {
    if (this.#delivered.length === 0) return;
    this.#store.markDelivered(this.#delivered);
    this.#delivered.length = 0;
  }

  /** Drops dead letters older than `deadLetterRetentionDays` before `now` (ms). */
  purgeDeadLetters(now: number): void {
    this.#store.purgeDeadLetters(now - this.#config.deadLetterRetentionDays * DAY_MS);
  }

  /**
   * Aborts every request in flight and reports it, and any later failure, as `aborted`: those rows
   * stay pending and are sent again after the next start, with the same id. Idempotent.
   */
  close(): void {
    this.#closed = true;
    for (const c of this.#controllers) c.abort();
  }

  /** One attempt at `row`, its outcome recorded. Rejects only if the outbox cannot be written. */
  async send(row: OutboxRow): Promise<SendResult> {
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
      if (this.#closed) return 'aborted';
      error = describe(err);
    } finally {
      this.#controllers.delete(controller);
    }
    if (this.#closed) return 'aborted';
    const now = this.#now();
    const decision = nextRetry(this.#config, attempt, now - row.retry_since, this.#random);
    if (decision.dead) {
      this.#store.markDead(row.seq, attempt, now, `${decision.reason}; last error: ${error}`);
      this.purgeDeadLetters(now);
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
