import type { ClientStore } from '../db/client-store.ts';
import { realTimers, type Timers } from '../timers.ts';

/**
 * Coalesces last_seen writes: times are kept in memory and written together, in one transaction,
 * `flushMs` after the first one waiting, and at close (shutdown). A link that drops 10,000
 * clients at once (a network partition, the server's own shutdown) then costs one WAL commit
 * instead of 10,000 (measured by `npm run bench:scale`). Readers ask `pending` first, so a
 * listing never shows the older stored time while a newer one waits.
 */
export class LastSeenBatch {
  readonly #store: ClientStore;
  readonly #flushMs: number;
  readonly #timers: Timers;
  readonly #onError: (err: unknown) => void;
  readonly #pending = new Map<string, string>();
  #timer: unknown;
  #closed = false;

  constructor(deps: {
    store: ClientStore;
    /** Longest a time waits in memory, in ms. */
    flushMs: number;
    onError: (err: unknown) => void;
    timers?: Timers;
  }) {
    this.#store = deps.store;
    this.#flushMs = deps.flushMs;
    this.#onError = deps.onError;
    this.#timers = deps.timers ?? realTimers;
  }

  /** `uuid` was seen at `at` (ISO 8601). Ignored after close. */
  record(uuid: string, at: string): void {
    if (this.#closed) return;
    this.#pending.set(uuid, at);
    this.#timer ??= this.#timers.setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, this.#flushMs);
  }

  /** The time waiting to be written for `uuid`, if any. */
  pending(uuid: string): string | undefined {
    return this.#pending.get(uuid);
  }

  /** Writes everything waiting in one transaction; returns how many rows. */
  flush(): number {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return 0;
    const entries = [...this.#pending];
    this.#pending.clear();
    try {
      this.#store.touchLastSeenMany(entries);
    } catch (err) {
      this.#onError(err);
    }
    return entries.length;
  }

  /** Flushes and stops taking times. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
  }
}
