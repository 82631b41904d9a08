import type { LiveEvent } from '../api/types.ts';

export type LiveState = 'connecting' | 'open' | 'closed';

export interface LiveSocketOptions {
  onEvent(event: LiveEvent): void;
  onState?(state: LiveState): void;
  /** A socket closed before it opened (refused: the session may have ended); retried all the same. */
  onRefused?(): void;
  /** First retry delay, ms; doubles up to `maxDelayMs`, with full jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

function isLiveEvent(v: unknown): v is LiveEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as LiveEvent;
  return typeof e.type === 'string' && typeof e.at === 'string' && typeof e.data === 'object';
}

/**
 * `WS /ws` with reconnection: capped exponential backoff with full jitter (as the reach client
 * reconnects), reset once a socket opens. Frames that are not a live event are dropped, not thrown.
 */
export class LiveSocket {
  readonly #opts: Required<Pick<LiveSocketOptions, 'onEvent' | 'baseDelayMs' | 'maxDelayMs'>> &
    Pick<LiveSocketOptions, 'onState' | 'onRefused'>;
  #ws: WebSocket | null = null;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #closed = false;

  constructor(opts: LiveSocketOptions) {
    this.#opts = { baseDelayMs: 500, maxDelayMs: 15_000, ...opts };
  }

  start(): void {
    if (this.#closed || this.#ws) return;
    const url = new URL('/ws', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.#opts.onState?.('connecting');
    const ws = new WebSocket(url);
    this.#ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.#attempt = 0;
      this.#opts.onState?.('open');
    };
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(m.data);
      } catch {
        return;
      }
      if (isLiveEvent(parsed)) this.#opts.onEvent(parsed);
    };
    ws.onclose = () => {
      this.#ws = null;
      this.#opts.onState?.('closed');
      if (!opened && !this.#closed) this.#opts.onRefused?.();
      if (!this.#closed) this.#retry();
    };
  }

  #retry(): void {
    const cap = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** this.#attempt);
    this.#attempt++;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.start();
    }, Math.random() * cap);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#ws?.close();
    this.#ws = null;
  }
}
