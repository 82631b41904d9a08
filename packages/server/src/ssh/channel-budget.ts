/** The kinds of channel one SSH link carries (ARCHITECTURE "Channels on the one SSH link"). */
export type ChannelKind = 'control' | 'agent' | 'stream';

/** Channels open at once on one SSH connection: each kind alone, and all kinds together. */
export type ChannelCaps = Readonly<Record<ChannelKind | 'total', number>>;

/**
 * Default caps. `control`: session channels the client opens for the `reach-control` subsystem;
 * `reach --list-clients` uses one per connection, so 4 is room to spare, while a hostile key could
 * otherwise open hundreds (each with its own 2 MiB window and frame buffer). `agent`: the server
 * opens one per link at registration. `stream`: one per file transfer in flight, which the
 * per-client concurrency limit (at most 100 calls, default far lower) bounds first; 64 keeps a
 * connection's widened 16 MiB stream windows to 1 GiB even if every one filled. `total` bounds
 * the mix: 64 channels per connection, whatever their kinds.
 */
export const CHANNEL_CAPS: ChannelCaps = { control: 4, agent: 2, stream: 64, total: 64 };

/** Counts the channels open on one connection and refuses one past its kind's cap or the total. */
export class ChannelBudget {
  readonly #caps: ChannelCaps;
  readonly #open: Record<ChannelKind, number> = { control: 0, agent: 0, stream: 0 };
  #total = 0;

  constructor(caps: ChannelCaps = CHANNEL_CAPS) {
    this.#caps = caps;
  }

  get caps(): ChannelCaps {
    return this.#caps;
  }

  /** Channels of `kind` open now. */
  open(kind: ChannelKind): number {
    return this.#open[kind];
  }

  /**
   * Takes a slot for one channel of `kind`: returns its release (idempotent), or undefined when
   * the kind or the connection is at its cap.
   */
  take(kind: ChannelKind): (() => void) | undefined {
    if (this.#open[kind] >= this.#caps[kind] || this.#total >= this.#caps.total) return undefined;
    this.#open[kind] += 1;
    this.#total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#open[kind] -= 1;
      this.#total -= 1;
    };
  }
}
