import type { Duplex } from 'node:stream';
import type { z } from 'zod';
import { ReachError } from '../errors.ts';
import { encodeFrame } from '../framing.ts';
import { TRANSFER } from '../transfer.ts';
import type { BulkHeapPolicy } from './bulk-heap-policy.ts';

const END_OF_BODY = Buffer.alloc(4);
/** Bytes moved (either way) between young-generation collections, when a heap policy is given. */
const COLLECT_EVERY_BYTES = 32 * 1024 * 1024;

export interface TransferChannelOptions {
  /**
   * The process's heap policy for bulk data (bulk-heap-policy.ts): begun when the channel is
   * made, ended when it ends, closes or fails; `collect` runs every 32 MiB moved.
   */
  heap?: BulkHeapPolicy | undefined;
}
/** Input queued before the stream is paused (then SSH flow control holds the sender back). */
const QUEUE_HIGH_BYTES = 1024 * 1024;

/**
 * One transfer stream seen as control frames and body chunks (transfer.ts). Reads pull from the
 * stream only when the caller asks, so a slow consumer stops reading, the channel's buffer fills
 * and SSH flow control stops the sender: memory stays bounded by the channel window whatever the
 * transfer's size. Writes wait for `drain`.
 */
export class TransferChannel {
  readonly #stream: Duplex;
  /** Chunks received and not yet consumed, as delivered (no copies). */
  readonly #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #error: Error | undefined;
  #waiters: Array<() => void> = [];
  #closed = false;
  readonly #gone = new AbortController();
  readonly #heap: BulkHeapPolicy | undefined;
  readonly #endHeapPolicy: () => void;
  #uncollected = 0;

  constructor(stream: Duplex, opts: TransferChannelOptions = {}) {
    this.#stream = stream;
    this.#heap = opts.heap;
    const endHeapPolicy = opts.heap?.begin();
    let heapPolicyEnded = endHeapPolicy === undefined;
    this.#endHeapPolicy = () => {
      if (heapPolicyEnded) return;
      heapPolicyEnded = true;
      endHeapPolicy?.();
    };
    const wake = (): void => {
      for (const w of this.#waiters.splice(0)) w();
    };
    // 'data' hands over each chunk as received; read() would concatenate (copy) the whole buffer.
    stream.on('data', (chunk: Buffer) => {
      this.#queue.push(chunk);
      this.#queued += chunk.byteLength;
      this.#moved(chunk.byteLength);
      if (this.#queued >= QUEUE_HIGH_BYTES) stream.pause();
      wake();
    });
    stream.on('drain', wake);
    stream.on('end', () => {
      this.#ended = true;
      wake();
    });
    stream.on('close', () => {
      this.#ended = true;
      this.#closed = true;
      this.#gone.abort();
      this.#endHeapPolicy();
      wake();
    });
    stream.on('error', (err: Error) => {
      this.#error ??= err;
      this.#gone.abort();
      this.#endHeapPolicy();
      wake();
    });
  }

  /**
   * Aborted when the stream closes or fails: work that waits on something other than the channel
   * (a buffer the SSH layer never gives back once the connection is gone) stops on it.
   */
  get signal(): AbortSignal {
    return this.#gone.signal;
  }

  /** Reads one control frame and validates it; a failure frame is accepted where `schema` allows it. */
  async readFrame<S extends z.ZodType>(schema: S, what: string): Promise<z.infer<S>> {
    const length = (await this.#exact(4)).readUInt32BE(0);
    if (length > TRANSFER.maxControlFrameBytes) {
      throw new ReachError('TRANSFER_FAILED', `${what}: control frame of ${length} bytes is over the limit`);
    }
    const body = await this.#exact(length);
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ReachError('TRANSFER_FAILED', `${what}: control frame is not JSON`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ReachError(
        'TRANSFER_FAILED',
        `${what}: unexpected message (${issue ? `${issue.path.join('.') || 'frame'}: ${issue.message}` : 'invalid'})`,
      );
    }
    return parsed.data;
  }

  /**
   * Reads body chunks up to the end-of-body marker, handing each slice to `sink` and waiting for
   * it (the sink applies backpressure by not resolving). Returns the body's byte count.
   */
  async readBody(sink: (chunk: Buffer) => void | Promise<void>): Promise<number> {
    let total = 0;
    for (;;) {
      const length = (await this.#exact(4)).readUInt32BE(0);
      if (length === 0) return total;
      if (length > TRANSFER.maxChunkBytes) {
        throw new ReachError('TRANSFER_FAILED', `body chunk of ${length} bytes is over the limit`);
      }
      let remaining = length;
      while (remaining > 0) {
        const chunk = await this.#next();
        const piece = chunk.byteLength <= remaining ? chunk : chunk.subarray(0, remaining);
        if (piece !== chunk) this.#unshift(chunk.subarray(remaining));
        remaining -= piece.byteLength;
        total += piece.byteLength;
        await sink(piece);
      }
    }
  }

  async writeFrame(message: unknown): Promise<void> {
    await this.#write(Buffer.from(encodeFrame(message, TRANSFER.maxControlFrameBytes)));
  }

  /**
   * Writes one body chunk whose first 4 bytes are reserved for the header (filled in here), so
   * header and data leave in one write. `onWritten` runs once the stream is done with `framed`
   * (the SSH layer has copied it into packets, or the stream failed), so the buffer can be reused.
   */
  async writeFramedChunk(framed: Buffer, onWritten?: () => void): Promise<void> {
    if (framed.byteLength <= 4) {
      onWritten?.();
      return;
    }
    framed.writeUInt32BE(framed.byteLength - 4, 0);
    await this.#write(framed, onWritten);
  }

  async endBody(): Promise<void> {
    await this.#write(END_OF_BODY);
  }

  /** Ends the stream after everything written so far. */
  end(): void {
    this.#endHeapPolicy();
    if (!this.#closed) this.#stream.end();
  }

  /** Tears the stream down at once (a failed or cancelled transfer). */
  destroy(): void {
    this.#endHeapPolicy();
    this.#stream.destroy();
  }

  async #write(buf: Buffer, onWritten?: () => void): Promise<void> {
    try {
      this.#check();
    } catch (err) {
      onWritten?.();
      throw err;
    }
    this.#moved(buf.byteLength);
    if (this.#stream.write(buf, onWritten)) return;
    while (this.#stream.writableNeedDrain) {
      this.#check();
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
      });
    }
    this.#check();
  }

  #moved(bytes: number): void {
    if (!this.#heap) return;
    this.#uncollected += bytes;
    if (this.#uncollected < COLLECT_EVERY_BYTES) return;
    this.#uncollected = 0;
    this.#heap.collect();
  }

  #check(): void {
    if (this.#error) {
      throw new ReachError('CONNECTION_ERROR', `transfer channel failed: ${this.#error.message}`, {
        cause: this.#error,
      });
    }
    if (this.#closed || this.#stream.destroyed) {
      throw new ReachError('CONNECTION_ERROR', 'transfer channel closed');
    }
  }

  #unshift(chunk: Buffer): void {
    this.#queue.unshift(chunk);
    this.#queued += chunk.byteLength;
  }

  async #next(): Promise<Buffer> {
    for (;;) {
      const chunk = this.#queue.shift();
      if (chunk !== undefined) {
        this.#queued -= chunk.byteLength;
        if (this.#queued < QUEUE_HIGH_BYTES / 2 && this.#stream.isPaused()) this.#stream.resume();
        return chunk;
      }
      if (this.#error) this.#check();
      if (this.#ended) throw new ReachError('CONNECTION_ERROR', 'transfer channel closed mid-transfer');
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
      });
    }
  }

  async #exact(n: number): Promise<Buffer> {
    if (n === 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const chunk = await this.#next();
      const need = n - have;
      if (chunk.byteLength > need) {
        this.#unshift(chunk.subarray(need));
        parts.push(chunk.subarray(0, need));
        have = n;
      } else {
        parts.push(chunk);
        have += chunk.byteLength;
      }
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
  }
}
