import { realTimers, type Timers } from '../timers.ts';

export interface HeartbeatOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Consecutive failures after which `onDead` is called once and the loop stops. */
  maxFailures: number;
  /** One beat; must settle by itself within `timeoutMs` (the caller's RPC deadline). */
  beat(timeoutMs: number): Promise<unknown>;
  onDead(failures: number, lastError: unknown): void;
  /** Failures within this many ms of `start()` do not count (a new connection's grace). */
  graceMs?: number;
  /**
   * Where in the first interval the first beat falls, as a fraction in [0, 1) (`Math.random` in
   * production). Clients that all registered at once (a restart storm) then beat spread over the
   * interval instead of together; every later beat follows the previous one by `intervalMs`.
   * Absent: the first beat comes a full interval after `start()`.
   */
  firstBeatAt?: () => number;
  /** Milliseconds clock, injected with `timers` in tests. */
  now?: () => number;
  timers?: Timers;
}

/**
 * A simple heartbeat loop: a beat every `intervalMs` (measured from the end of the previous one),
 * each with its own deadline; `maxFailures` failures in a row declare the link dead.
 */
export class Heartbeat {
  readonly #opts: HeartbeatOptions;
  readonly #timers: Timers;
  #handle: unknown;
  #failures = 0;
  #stopped = true;
  #startedAt = 0;

  constructor(opts: HeartbeatOptions) {
    this.#opts = opts;
    this.#timers = opts.timers ?? realTimers;
  }

  #now(): number {
    return this.#opts.now?.() ?? Date.now();
  }

  get failures(): number {
    return this.#failures;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#startedAt = this.#now();
    const at = this.#opts.firstBeatAt?.();
    this.#schedule(
      at === undefined ? undefined : Math.floor(Math.min(Math.max(at, 0), 1) * this.#opts.intervalMs),
    );
  }

  stop(): void {
    this.#stopped = true;
    if (this.#handle !== undefined) this.#timers.clearTimeout(this.#handle);
    this.#handle = undefined;
  }

  #schedule(delayMs = this.#opts.intervalMs): void {
    if (this.#stopped) return;
    this.#handle = this.#timers.setTimeout(() => {
      this.#handle = undefined;
      this.#tick();
    }, delayMs);
  }

  #tick(): void {
    if (this.#stopped) return;
    this.#opts.beat(this.#opts.timeoutMs).then(
      () => {
        this.#failures = 0;
        this.#schedule();
      },
      (err: unknown) => {
        if (this.#stopped) return;
        if (this.#now() - this.#startedAt < (this.#opts.graceMs ?? 0)) {
          this.#schedule();
          return;
        }
        this.#failures++;
        if (this.#failures >= this.#opts.maxFailures) {
          this.stop();
          this.#opts.onDead(this.#failures, err);
          return;
        }
        this.#schedule();
      },
    );
  }
}
