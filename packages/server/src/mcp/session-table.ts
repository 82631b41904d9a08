export const DEFAULT_MAX_SESSIONS = 1000;
/** A key holds a fifth of the table: one flooding key cannot push the others' sessions out. */
export const DEFAULT_MAX_SESSIONS_PER_KEY = 200;
/** 10 minutes: a client that comes back later gets 404 and, per the MCP spec, opens a new session. */
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60_000;

/**
 * Why a session left the table: its client closed it, it sat idle past the timeout, or a new
 * session needed its slot (the table or its key was full).
 */
export type SessionEndReason = 'closed' | 'idle' | 'evicted';

export interface SessionTableOptions {
  /** Sessions the whole table holds. */
  maxSessions: number;
  /** Sessions one owner (API key) holds; a key at its cap replaces its own oldest session. */
  maxPerOwner: number;
  /** A session with no request in flight and none for this long is closed. Milliseconds. */
  idleTimeoutMs: number;
  /** Milliseconds clock (injected by tests). */
  now?: () => number;
  /** Told about every session that leaves the table; must not throw. */
  onEnd?: (id: string, owner: string, reason: SessionEndReason) => void;
}

interface Slot<T> {
  value: T;
  owner: string;
  /** Clock time of the last request start or end. */
  lastUsed: number;
  /** Requests (and open response streams) in progress. */
  inFlight: number;
}

/**
 * MCP sessions by id, in least-recently-used order (a Map keeps insertion order; a use moves the
 * entry to the end). Full never means refused: a new session takes the slot of the least recently
 * used one, preferring a session with nothing in flight, so a flood of abandoned `initialize`
 * calls only ever displaces itself. `close` of an evicted or expired value is the caller's
 * `closeValue`, run once, after the slot is gone.
 */
export class SessionTable<T> {
  readonly #slots = new Map<string, Slot<T>>();
  readonly #perOwner = new Map<string, number>();
  readonly #options: SessionTableOptions;
  readonly #now: () => number;
  readonly #closeValue: (value: T) => void;

  constructor(options: SessionTableOptions, closeValue: (value: T) => void) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#closeValue = closeValue;
  }

  get size(): number {
    return this.#slots.size;
  }

  countFor(owner: string): number {
    return this.#perOwner.get(owner) ?? 0;
  }

  get(id: string): T | undefined {
    return this.#slots.get(id)?.value;
  }

  /** Inserts a session, first expiring idle ones and evicting to make room. */
  add(id: string, owner: string, value: T): void {
    this.sweep();
    if (this.countFor(owner) >= this.#options.maxPerOwner) this.#evictOldest(owner);
    if (this.#slots.size >= this.#options.maxSessions) this.#evictOldest(undefined);
    this.#slots.set(id, { value, owner, lastUsed: this.#now(), inFlight: 0 });
    this.#perOwner.set(owner, this.countFor(owner) + 1);
  }

  /**
   * Marks a request on `id` as started (the session is in use, not idle, until the returned
   * function runs). Undefined when the session is not in the table.
   */
  begin(id: string): (() => void) | undefined {
    const slot = this.#touch(id);
    if (!slot) return undefined;
    slot.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      slot.inFlight--;
      this.#touch(id);
    };
  }

  /** Removes a session its client closed (idempotent; the value is not closed again). */
  delete(id: string): void {
    this.#remove(id, 'closed');
  }

  /** Closes every session idle past the timeout. Cheap when none is: it stops at the first recent one. */
  sweep(): void {
    const cutoff = this.#now() - this.#options.idleTimeoutMs;
    for (const [id, slot] of this.#slots) {
      if (slot.lastUsed > cutoff) break;
      if (slot.inFlight === 0) this.#end(id, 'idle');
    }
  }

  /** Empties the table and returns the values for the caller to close (shutdown). */
  clear(): T[] {
    const values = [...this.#slots.values()].map((s) => s.value);
    this.#slots.clear();
    this.#perOwner.clear();
    return values;
  }

  #touch(id: string): Slot<T> | undefined {
    const slot = this.#slots.get(id);
    if (!slot) return undefined;
    slot.lastUsed = this.#now();
    this.#slots.delete(id);
    this.#slots.set(id, slot);
    return slot;
  }

  /** The least recently used session (of `owner`, if given), preferring one with nothing in flight. */
  #evictOldest(owner: string | undefined): void {
    let busy: string | undefined;
    for (const [id, slot] of this.#slots) {
      if (owner !== undefined && slot.owner !== owner) continue;
      if (slot.inFlight === 0) {
        this.#end(id, 'evicted');
        return;
      }
      busy ??= id;
    }
    if (busy !== undefined) this.#end(busy, 'evicted');
  }

  #end(id: string, reason: Exclude<SessionEndReason, 'closed'>): void {
    const slot = this.#remove(id, reason);
    if (slot) this.#closeValue(slot.value);
  }

  #remove(id: string, reason: SessionEndReason): Slot<T> | undefined {
    const slot = this.#slots.get(id);
    if (!slot) return undefined;
    this.#slots.delete(id);
    const left = this.countFor(slot.owner) - 1;
    if (left > 0) this.#perOwner.set(slot.owner, left);
    else this.#perOwner.delete(slot.owner);
    this.#options.onEnd?.(id, slot.owner, reason);
    return slot;
  }
}
