import { createHash, randomBytes } from 'node:crypto';

/** What a sign-in session remembers: which key signed in, and until when. */
export interface Session {
  /** `ui:<12 hex>`: the first 48 bits of the id's SHA-256, what audit rows and history name. */
  caller: string;
  /** Key id of the API key that signed in (`key:<12 hex>`), or `anonymous`. */
  keyId: string;
  expiresAt: number;
}

/** 10,000 sessions at ~150 bytes each is 1.5 MB: past it the oldest sign-in is dropped. */
const MAX_SESSIONS = 10_000;

function hashOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/**
 * Browser sign-in sessions, in memory only: the id (32 random bytes, base64url) goes to the
 * browser in the cookie and only its SHA-256 is kept here, so a heap dump holds no usable
 * cookie. A restart forgets every session: everyone signs in again (documented in the README).
 */
export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(ttlMs: number, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** A new session for `keyId`: its id (the cookie value) and what is stored. */
  create(keyId: string): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const hash = hashOf(id);
    const session: Session = {
      caller: `ui:${hash.slice(0, 12)}`,
      keyId,
      expiresAt: this.#now() + this.#ttlMs,
    };
    if (this.#sessions.size >= MAX_SESSIONS) this.#sweep();
    if (this.#sessions.size >= MAX_SESSIONS) {
      // Map keeps insertion order: the first key is the oldest sign-in.
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(hash, session);
    return { id, session };
  }

  /** The live session with this id; an unknown, forged or expired id answers undefined. */
  get(id: string): Session | undefined {
    if (id.length === 0 || id.length > 100) return undefined;
    const hash = hashOf(id);
    const s = this.#sessions.get(hash);
    if (!s) return undefined;
    if (s.expiresAt <= this.#now()) {
      this.#sessions.delete(hash);
      return undefined;
    }
    return s;
  }

  revoke(id: string): void {
    this.#sessions.delete(hashOf(id));
  }

  get size(): number {
    return this.#sessions.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [hash, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(hash);
  }
}
