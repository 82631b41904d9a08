/**
 * One event the browser's live view gets (`WS /ws`): client lifecycle and activity, the same
 * events the webhooks carry, plus metrics samples. `at` is ISO 8601.
 */
export interface LiveEvent {
  type: string;
  at: string;
  client?: { uuid: string; display_name: string };
  data: Record<string, unknown>;
}

export type LiveListener = (event: LiveEvent) => void;

/**
 * The in-process bus of live events. Publishing never blocks and never throws: a listener that
 * fails is reported to `onError` and the others still hear the event. A listener that must not
 * fall behind (a WebSocket) bounds its own queue.
 */
export class LiveEvents {
  readonly #listeners = new Set<LiveListener>();
  readonly #onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void = () => {}) {
    this.#onError = onError;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: LiveListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  publish(event: LiveEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (err) {
        this.#onError(err);
      }
    }
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
