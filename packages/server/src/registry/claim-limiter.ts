/**
 * Token buckets for identity claims (a connection saying "I am UUID x" with key y), keyed by UUID
 * and by key fingerprint. A claim that would change stored identity state (a new UUID row, a
 * `pending_fingerprint` rewrite and its `key_mismatch` webhook) must find a token in every bucket
 * it names; without this, one authorized key reconnecting every 300 ms rewrote the pending key and
 * fired a webhook 199 times a minute.
 */
export interface ClaimLimiterOptions {
  /** Claims allowed at once per bucket. */
  burst: number;
  /** Tokens added back per bucket per minute. */
  perMinute: number;
  /** Buckets kept (each a few dozen bytes); the least recently touched goes first past it. */
  maxBuckets?: number;
  /** Clock in ms (injected in tests). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class ClaimLimiter {
  readonly #burst: number;
  readonly #perMs: number;
  readonly #maxBuckets: number;
  readonly #now: () => number;
  /** Insertion order = least recently touched first (touching re-inserts). */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: ClaimLimiterOptions) {
    this.#burst = options.burst;
    this.#perMs = options.perMinute / 60_000;
    this.#maxBuckets = options.maxBuckets ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token from each of `keys` if every one has a token; else takes none. */
  allow(...keys: string[]): boolean {
    const now = this.#now();
    const buckets = keys.map((key) => this.#touch(key, now));
    if (buckets.some((b) => b.tokens < 1)) return false;
    for (const b of buckets) b.tokens -= 1;
    return true;
  }

  #touch(key: string, now: number): Bucket {
    const old = this.#buckets.get(key);
    const bucket: Bucket = old
      ? { tokens: Math.min(this.#burst, old.tokens + (now - old.at) * this.#perMs), at: now }
      : { tokens: this.#burst, at: now };
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    while (this.#buckets.size > this.#maxBuckets) {
      const oldest = this.#buckets.keys().next().value;
      if (oldest === undefined) break;
      this.#buckets.delete(oldest);
    }
    return bucket;
  }
}
