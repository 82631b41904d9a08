import { ReachError } from '@reach/protocol';

export type RateLimitMode = 'warn' | 'enforce';

export interface RateLimits {
  /** Requests per sliding 60 s window. */
  rpm: number;
  /** Requests in flight at once. */
  concurrent: number;
}

export interface RateLimitStats {
  requests_per_minute: number;
  current_concurrent: number;
  rpm_limit: number;
  concurrent_limit: number;
  rpm_warnings: number;
  concurrent_warnings: number;
  mode: RateLimitMode;
}

export interface RateLimiterOptions {
  mode: RateLimitMode;
  defaults: RateLimits;
  /** Milliseconds clock; injected so tests need no sleeping. */
  now?: () => number;
  /** Told once per exceeded request (warn mode logs it). */
  onExceeded?: (uuid: string, kind: 'rpm' | 'concurrent', stats: RateLimitStats) => void;
}

/** Releases a concurrency slot; idempotent. */
export type Lease = () => void;

const WINDOW_MS = 60_000;
/** Timestamps kept per client; past it the oldest are dropped (bounded even in warn mode). */
const MAX_TRACKED = 10_000;

interface ClientCounters {
  starts: number[];
  concurrent: number;
  rpmWarnings: number;
  concurrentWarnings: number;
}

/**
 * Per-client request limits: a sliding one-minute window and a concurrency cap. In `warn` mode
 * (the reference's behaviour) excess is counted and reported; in `enforce` mode it is refused
 * with RATE_LIMIT_EXCEEDED and a retry-after hint.
 */
export class RateLimiter {
  readonly #options: RateLimiterOptions;
  readonly #now: () => number;
  readonly #clients = new Map<string, ClientCounters>();

  constructor(options: RateLimiterOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get mode(): RateLimitMode {
    return this.#options.mode;
  }

  acquire(uuid: string, overrides: Partial<RateLimits> = {}): Lease {
    const limits = this.#limits(overrides);
    const c = this.#counters(uuid);
    const now = this.#now();
    this.#prune(c, now);
    const rpmExceeded = c.starts.length >= limits.rpm;
    const concurrentExceeded = c.concurrent >= limits.concurrent;
    if (rpmExceeded || concurrentExceeded) {
      if (rpmExceeded) c.rpmWarnings++;
      if (concurrentExceeded) c.concurrentWarnings++;
      const kind = rpmExceeded ? 'rpm' : 'concurrent';
      this.#options.onExceeded?.(uuid, kind, this.stats(uuid, overrides));
      if (this.#options.mode === 'enforce') {
        const oldest = c.starts[0] ?? now;
        const retryAfterS = rpmExceeded ? Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000)) : 1;
        throw new ReachError(
          'RATE_LIMIT_EXCEEDED',
          rpmExceeded
            ? `client ${uuid} exceeded ${limits.rpm} requests per minute`
            : `client ${uuid} already has ${limits.concurrent} requests in flight`,
          {
            details: { limit: kind, retry_after_s: retryAfterS, ...limits },
            recoveryHint: `retry after ${retryAfterS} s, or raise the limit with configure_client`,
          },
        );
      }
    }
    c.starts.push(now);
    if (c.starts.length > MAX_TRACKED) c.starts.shift();
    c.concurrent++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      c.concurrent--;
    };
  }

  stats(uuid: string, overrides: Partial<RateLimits> = {}): RateLimitStats {
    const limits = this.#limits(overrides);
    const c = this.#counters(uuid);
    this.#prune(c, this.#now());
    return {
      requests_per_minute: c.starts.length,
      current_concurrent: c.concurrent,
      rpm_limit: limits.rpm,
      concurrent_limit: limits.concurrent,
      rpm_warnings: c.rpmWarnings,
      concurrent_warnings: c.concurrentWarnings,
      mode: this.#options.mode,
    };
  }

  #limits(overrides: Partial<RateLimits>): RateLimits {
    return {
      rpm: overrides.rpm ?? this.#options.defaults.rpm,
      concurrent: overrides.concurrent ?? this.#options.defaults.concurrent,
    };
  }

  #counters(uuid: string): ClientCounters {
    let c = this.#clients.get(uuid);
    if (!c) {
      c = { starts: [], concurrent: 0, rpmWarnings: 0, concurrentWarnings: 0 };
      this.#clients.set(uuid, c);
    }
    return c;
  }

  #prune(c: ClientCounters, now: number): void {
    const cutoff = now - WINDOW_MS;
    let drop = 0;
    while (drop < c.starts.length && c.starts[drop]! <= cutoff) drop++;
    if (drop > 0) c.starts.splice(0, drop);
  }
}
