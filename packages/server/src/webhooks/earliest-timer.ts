import type { Timers } from '../timers.ts';

/**
 * One timer for the earliest of many wake-up times. The dispatcher asks to be woken for every
 * waiting target's next retry; only the soonest is kept, so a thousand backed-off targets cost one
 * pending timer, not a thousand. After it fires the next `arm()` sets a new one.
 */
export class EarliestTimer {
  readonly #timers: Timers;
  readonly #fire: () => void;
  #armed: { handle: unknown; at: number } | undefined;

  /** `fire` runs once per timer that goes off; `timers` is injected so tests drive time by hand. */
  constructor(timers: Timers, fire: () => void) {
    this.#timers = timers;
    this.#fire = fire;
  }

  /**
   * Fires at `at` (ms, on the clock `now` was read from) unless already armed for then or sooner.
   * `Infinity` (nothing to wait for) arms nothing.
   */
  arm(at: number, now: number): void {
    if (at === Number.POSITIVE_INFINITY) return;
    if (this.#armed !== undefined && this.#armed.at <= at) return;
    this.clear();
    const handle = this.#timers.setTimeout(
      () => {
        this.#armed = undefined;
        this.#fire();
      },
      Math.max(0, at - now),
    );
    this.#armed = { handle, at };
  }

  /** Disarms the pending timer, if any. */
  clear(): void {
    if (this.#armed === undefined) return;
    this.#timers.clearTimeout(this.#armed.handle);
    this.#armed = undefined;
  }
}
