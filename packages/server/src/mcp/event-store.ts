import { randomBytes } from 'node:crypto';
import type { EventStore } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface BoundedEventStoreOptions {
  /** Events kept per session, oldest dropped first. */
  maxEvents?: number;
  /** An event older than this cannot be replayed, in ms. */
  ttlMs?: number;
  now?: () => number;
}

interface Stored {
  id: string;
  streamId: string;
  message: JSONRPCMessage;
  at: number;
}

/**
 * The SDK's `EventStore` for one MCP session, in memory and bounded: a streamed call (one that
 * asked for progress) whose SSE stream breaks can be resumed with `Last-Event-ID` from the events
 * kept here — while the server lives; a server that dies takes them with it, which the README
 * says. Event ids are random tokens looked up in one ordered list: at 500 events a linear scan costs
 * microseconds, and nothing here grows past `maxEvents` or lives past `ttlMs`.
 */
export class BoundedEventStore implements EventStore {
  readonly #events: Stored[] = [];
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: BoundedEventStoreOptions = {}) {
    this.#max = options.maxEvents ?? 500;
    this.#ttlMs = options.ttlMs ?? 5 * 60_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#events.length;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const id = randomBytes(12).toString('base64url');
    this.#events.push({ id, streamId, message, at: this.#now() });
    this.#prune();
    return id;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    this.#prune();
    return this.#events.find((e) => e.id === eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: string,
    { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> },
  ): Promise<string> {
    this.#prune();
    const at = this.#events.findIndex((e) => e.id === lastEventId);
    const last = this.#events[at];
    // The SDK answers a resume it cannot serve with an error the caller sees at once.
    if (!last) throw new Error('event not found or expired');
    for (const e of this.#events.slice(at + 1)) {
      // The priming event carries an empty message: nothing to replay for it.
      if (e.streamId === last.streamId && Object.keys(e.message).length > 0) await send(e.id, e.message);
    }
    return last.streamId;
  }

  #prune(): void {
    const cutoff = this.#now() - this.#ttlMs;
    let drop = Math.max(0, this.#events.length - this.#max);
    while (drop < this.#events.length && (this.#events[drop]?.at ?? 0) < cutoff) drop += 1;
    if (drop > 0) this.#events.splice(0, drop);
  }
}
