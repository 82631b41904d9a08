import type { Duplex, Writable } from 'node:stream';

/** The ssh2 channel fields this module touches (ssh2 1.x internals; ssh2 is pinned). */
interface Ssh2ChannelInternals {
  incoming?: { window: number; state: string };
  outgoing?: { id: number; state: string };
  _client?: { _protocol?: { channelWindowAdjust?(id: number, amount: number): void } };
}

/** Receive window for bulk channels: 16 MiB carried several times the default's throughput. */
export const BULK_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * ssh2 announces a fixed 2 MiB receive window per channel and tops it up only to 2 MiB, which caps
 * one channel at 2 MiB per round trip (PITFALLS 2). This keeps `channel`'s window near `bytes`:
 * it is topped up after each delivery the consumer keeps up with (push() returned true). When the
 * consumer lags, nothing is added, the window drains and ssh2's own flow control stops the sender,
 * so buffered data stays bounded by `bytes` plus the stream's high-water mark.
 */
export function widenReceiveWindow(channel: Duplex, bytes: number = BULK_WINDOW_BYTES): void {
  const ch = channel as unknown as Ssh2ChannelInternals;
  const incoming = ch.incoming;
  const outgoing = ch.outgoing;
  const protocol = ch._client?._protocol;
  if (!incoming || !outgoing || typeof protocol?.channelWindowAdjust !== 'function') return;
  const topUp = (): void => {
    if (incoming.state !== 'open' || outgoing.state !== 'open') return;
    const amount = bytes - incoming.window;
    if (amount < bytes / 4) return;
    incoming.window += amount;
    protocol.channelWindowAdjust?.(outgoing.id, amount);
  };
  const push = channel.push.bind(channel);
  channel.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    const ok = push(chunk, encoding);
    if (ok && chunk !== null) topUp();
    return ok;
  };
  topUp();
}

/**
 * Corks the connection's socket around each write to `channel`, so the SSH packets one write
 * produces (a 512 KiB chunk is 16 packets) leave in one writev instead of one syscall each.
 */
export function coalesceWrites(channel: Duplex): void {
  const sock = (channel as unknown as { _client?: { _sock?: Writable } })._client?._sock;
  if (!sock || typeof sock.cork !== 'function') return;
  const write = channel.write.bind(channel) as (...args: unknown[]) => boolean;
  channel.write = ((...args: unknown[]): boolean => {
    sock.cork();
    try {
      return write(...args);
    } finally {
      sock.uncork();
    }
  }) as Duplex['write'];
}
