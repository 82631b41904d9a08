import { randomFillSync } from 'node:crypto';
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

/** The connection fields `coalesceWrites` touches (ssh2 1.x internals; ssh2 is pinned). */
interface Ssh2ConnectionInternals {
  _sock?: Writable;
  _protocol?: { _cipher?: { allocPacket?: (payloadLen: number) => Buffer; constructor: { name: string } } };
}

/** Packet buffers come from slabs of this size while a bulk write is being packetized. */
const SLAB_BYTES = 1024 * 1024;
/** Random bytes drawn at once for packet padding (RFC 4253 §6: the padding is random). */
const PADDING_RESERVE_BYTES = 64 * 1024;

/**
 * Corks the connection's socket around each write to `channel`, so the SSH packets one write
 * produces (a 512 KiB chunk is 16 packets) leave in one writev instead of one syscall each.
 *
 * During that write, AES-GCM packets are also cut from a reused slab instead of one fresh
 * 32 KiB buffer each: ssh2 allocates every outgoing packet, and on a 2-core VM those allocations
 * (zeroing, page faults and the major collections their external memory triggers) cost the
 * sender more than the encryption. The slab is reused only when the socket took every byte at
 * uncork (writableLength 0: the kernel has copied them); otherwise it is left to the pending
 * writes that reference it and a new one is started. Padding comes from a reserve of random
 * bytes filled 64 KiB at a time. The packet layout is RFC 5647 §7 / ssh2's
 * AESGCMCipherBinding.allocPacket: length, padding length, payload, 4–19 random padding bytes
 * to a 16-byte multiple, 16-byte tag; the length field is not encrypted.
 */
export function coalesceWrites(channel: Duplex): void {
  const conn = (channel as unknown as { _client?: Ssh2ConnectionInternals })._client;
  const sock = conn?._sock;
  if (!conn || !sock || typeof sock.cork !== 'function') return;
  let slab: Buffer | undefined;
  let used = 0;
  // One randomFillSync per 64 KiB of padding instead of one per packet (~10 µs each, 32,768
  // packets per GiB); every random byte is still used once.
  const reserve = Buffer.allocUnsafeSlow(PADDING_RESERVE_BYTES);
  let reserveAt = PADDING_RESERVE_BYTES;
  const allocGcmPacket = (payloadLen: number): Buffer => {
    let packetLen = 4 + 1 + payloadLen;
    let padLen = 16 - ((packetLen - 4) & 15);
    if (padLen < 4) padLen += 16;
    packetLen += padLen;
    const total = packetLen + 16;
    if (!slab || used + total > slab.byteLength) {
      slab = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, total));
      used = 0;
    }
    const packet = slab.subarray(used, used + total);
    used += total;
    packet.writeUInt32BE(packetLen - 4, 0);
    packet[4] = padLen;
    if (reserveAt + padLen > PADDING_RESERVE_BYTES) {
      randomFillSync(reserve);
      reserveAt = 0;
    }
    reserve.copy(packet, 5 + payloadLen, reserveAt, reserveAt + padLen);
    reserveAt += padLen;
    return packet;
  };
  const write = channel.write.bind(channel) as (...args: unknown[]) => boolean;
  channel.write = ((...args: unknown[]): boolean => {
    const cipher = conn._protocol?._cipher;
    const pooled =
      cipher?.constructor.name === 'AESGCMCipherBinding' && !Object.hasOwn(cipher, 'allocPacket');
    sock.cork();
    if (pooled) cipher.allocPacket = allocGcmPacket;
    try {
      return write(...args);
    } finally {
      // Back to the prototype's allocPacket: packets sent outside this call (other channels,
      // data ssh2 holds until the window opens) are allocated as ssh2 does.
      if (pooled) delete cipher.allocPacket;
      sock.uncork();
      if (sock.writableLength === 0) used = 0;
      else slab = undefined;
    }
  }) as Duplex['write'];
}
