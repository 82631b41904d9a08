import type { Duplex } from 'node:stream';
import { ReachError } from '../errors.ts';
import { RpcPeer, type RpcPeerOptions, type RpcTransport } from '../rpc-peer.ts';

export interface PeerOverStreamOptions extends Omit<RpcPeerOptions, 'transport'> {
  /**
   * Called once when the link is gone — the stream ended, closed or failed, or the peer closed it
   * (an oversized frame, `close()`) — after every call in flight has failed with CONNECTION_ERROR.
   */
  onClose?: (reason: ReachError) => void;
  /**
   * After the peer closes the link, how long the stream may take to flush its last frames (an
   * error reply) and close before it is destroyed, in ms. Default 2000: an SSH channel whose
   * reader stopped granting window never finishes `end()` by itself.
   */
  closeGraceMs?: number;
}

/**
 * The one pipe between a byte stream (an SSH channel, a socket) and an `RpcPeer`: it owns framing
 * (received bytes go to the decoder), backpressure, close and errors (STYLE 17).
 *
 * Backpressure: a frame goes to the stream at once while the stream's buffer is under its
 * high-water mark; once `write` says the buffer is full, later frames wait (in order) until
 * 'drain', and every `send` resolves only when the stream can take more. A caller of `peer.call`
 * or a served request's reply therefore waits for a slow reader instead of growing the stream's
 * buffer without bound; what does wait is one frame per waiting sender, and the senders are
 * bounded (the peer's concurrency caps). Input is never paused for output, so two peers that
 * both write big frames at each other cannot deadlock.
 */
export function peerOverStream(stream: Duplex, options: PeerOverStreamOptions = {}): RpcPeer {
  const { onClose, closeGraceMs = 2000, ...peerOptions } = options;
  let closed: ReachError | undefined;
  /** Pending while the stream is over its high-water mark; frames sent meanwhile queue behind it. */
  let gate: Promise<void> | undefined;
  let waiting = 0;
  const drainWaiters = new Set<{ resolve(): void; reject(err: ReachError): void }>();

  const untilDrained = (): Promise<void> => {
    const drained = new Promise<void>((resolve, reject) => {
      const waiter = { resolve, reject };
      drainWaiters.add(waiter);
      stream.once('drain', () => {
        drainWaiters.delete(waiter);
        resolve();
      });
    });
    const opened: Promise<void> = drained.finally(() => {
      if (gate === opened) gate = undefined;
    });
    gate = opened;
    return opened;
  };

  const write = (frame: Uint8Array): Promise<void> => {
    if (closed) return Promise.reject(closed);
    if (stream.destroyed || stream.writableEnded) {
      return Promise.reject(new ReachError('CONNECTION_ERROR', 'stream closed'));
    }
    if (stream.write(frame)) return Promise.resolve();
    return untilDrained();
  };

  const transport: RpcTransport = {
    send(frame) {
      if (gate === undefined) return write(frame);
      waiting += 1;
      const sent = gate.then(
        () => {
          waiting -= 1;
          return transport.send(frame);
        },
        (err: unknown) => {
          waiting -= 1;
          throw err;
        },
      );
      return sent;
    },
    get waiting() {
      return waiting;
    },
    close() {
      finish(peer.closeReason ?? new ReachError('CONNECTION_ERROR', 'link closed locally'));
      if (stream.destroyed) return;
      if (stream.writableNeedDrain) {
        // The reader is not taking what is buffered: end() would wait on it for ever.
        stream.destroy();
        return;
      }
      stream.end();
      const timer = setTimeout(() => stream.destroy(), closeGraceMs);
      timer.unref();
      stream.once('close', () => clearTimeout(timer));
    },
  };

  const peer = new RpcPeer({ ...peerOptions, transport });

  const finish = (reason: ReachError): void => {
    if (closed) return;
    closed = reason.code === 'CONNECTION_ERROR' ? reason : new ReachError('CONNECTION_ERROR', reason.message);
    for (const waiter of drainWaiters) waiter.reject(closed);
    drainWaiters.clear();
    peer.handleClose(closed);
    onClose?.(closed);
  };

  stream.on('data', (chunk: Uint8Array) => peer.receive(chunk));
  // SSH channels have no usable half-close (a channel's EOF is followed by its CLOSE), so the
  // peer's end of input is the end of the link.
  stream.on('end', () => finish(new ReachError('CONNECTION_ERROR', 'stream ended by the peer')));
  stream.on('close', () => finish(new ReachError('CONNECTION_ERROR', 'stream closed')));
  stream.on('error', (err: Error) =>
    finish(new ReachError('CONNECTION_ERROR', `stream failed: ${err.message}`)),
  );
  return peer;
}
