import { ReachError } from '@reach/protocol';

/**
 * Sign-in attempts per source address: 10 a minute (a person mistyping a key needs a few; a
 * guesser needs billions), counted in a fixed one-minute window. Past it RATE_LIMIT_EXCEEDED
 * with the seconds left. At most 10,000 addresses are tracked (~1 MB); past that the table is
 * cleared of windows that ended.
 */
export class LoginLimiter {
  readonly #windows = new Map<string, { start: number; count: number }>();
  readonly #perMinute: number;
  readonly #now: () => number;

  constructor(perMinute = 10, now: () => number = Date.now) {
    this.#perMinute = perMinute;
    this.#now = now;
  }

  /** Counts one attempt from `source`; throws RATE_LIMIT_EXCEEDED past the limit. */
  attempt(source: string): void {
    const now = this.#now();
    if (this.#windows.size > 10_000) {
      for (const [k, w] of this.#windows) if (now - w.start >= 60_000) this.#windows.delete(k);
    }
    let w = this.#windows.get(source);
    if (!w || now - w.start >= 60_000) {
      w = { start: now, count: 0 };
      this.#windows.set(source, w);
    }
    w.count += 1;
    if (w.count > this.#perMinute) {
      const retryS = Math.max(1, Math.ceil((w.start + 60_000 - now) / 1000));
      throw new ReachError('RATE_LIMIT_EXCEEDED', `too many sign-in attempts from ${source}`, {
        details: { retry_after_s: retryS, per_minute: this.#perMinute },
        recoveryHint: `wait ${retryS} s and sign in again`,
      });
    }
  }
}
