import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { BufferPool } from './buffer-pool.ts';

export interface FileSinkOptions {
  /** Bytes gathered before one positional write (default 1 MiB). */
  batchBytes?: number;
  /** Batches that may be in flight or being filled at once (default 4): the sink's memory bound. */
  batches?: number;
  /** Bytes written between background `fdatasync` calls (default 64 MiB; 0 turns them off). */
  flushEveryBytes?: number;
}

/**
 * Writes a stream of small chunks (SSH delivers 32 KiB packets) to a file at increasing
 * positions: chunks are copied into pooled batches, each batch is hashed and written with one
 * positional write (in order) while the next fills, and a background `fdatasync` starts every
 * `flushEveryBytes` so writeback overlaps the network and the final fsync only has the tail
 * (measured here: an fsync of 1 GiB at the end took 3.8 s). One write per MiB instead of one
 * per packet; no allocation per chunk.
 */
export class FileSink {
  readonly #fh: FileHandle;
  readonly #hash: Hash;
  readonly #pool: BufferPool;
  readonly #flushEvery: number;
  #position: number;
  #current: Buffer | undefined;
  #filled = 0;
  /** The last submitted write; writes run in order, so it settles after every earlier one. */
  #last: Promise<void> = Promise.resolve();
  #unflushed = 0;
  #flushing: Promise<void> | undefined;
  #error: Error | undefined;

  /** Writes start at `position`; `hash` is updated with every byte in order. */
  constructor(fh: FileHandle, position: number, hash: Hash, opts: FileSinkOptions = {}) {
    this.#fh = fh;
    this.#position = position;
    this.#hash = hash;
    this.#pool = new BufferPool(opts.batches ?? 4, opts.batchBytes ?? 1024 * 1024);
    this.#flushEvery = opts.flushEveryBytes ?? 64 * 1024 * 1024;
  }

  /** Takes a chunk (copied; the caller may reuse it); waits only when every batch is busy. */
  async write(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (this.#error) throw this.#error;
      this.#current ??= await this.#pool.acquire();
      const n = chunk.copy(this.#current, this.#filled, offset);
      this.#filled += n;
      offset += n;
      if (this.#filled === this.#current.byteLength) this.#submit();
    }
  }

  /** Writes what is left and waits for every write and flush; throws the first write error. */
  async finish(): Promise<void> {
    if (this.#error) throw this.#error;
    if (this.#current && this.#filled > 0) this.#submit();
    await this.#settle();
    if (this.#error) throw this.#error;
  }

  /** Stops: waits for writes under way (so the handle can be closed) and drops what was not sent. */
  async abort(): Promise<void> {
    this.#error ??= new Error('file sink aborted');
    this.#pool.close();
    await this.#settle();
  }

  async #settle(): Promise<void> {
    await this.#last;
    // The last write may have started a flush; no write comes after it to start another.
    await this.#flushing;
  }

  #submit(): void {
    const buf = this.#current!;
    const length = this.#filled;
    const position = this.#position;
    this.#current = undefined;
    this.#filled = 0;
    this.#position += length;
    const data = buf.subarray(0, length);
    this.#hash.update(data);
    // Writes run one after another, in order: a process killed mid-transfer leaves a file that is
    // a prefix of the source (no hole past a missing batch), so a resume can use all of it.
    this.#last = this.#last
      .then(() => {
        if (this.#error) throw this.#error;
        return writeFully(this.#fh, data, position);
      })
      .then(
        () => {
          this.#pool.release(buf);
          this.#wrote(length);
        },
        (err: Error) => {
          this.#pool.release(buf);
          this.#error ??= err;
        },
      );
  }

  #wrote(length: number): void {
    this.#unflushed += length;
    if (this.#flushEvery === 0 || this.#unflushed < this.#flushEvery || this.#flushing) return;
    this.#unflushed = 0;
    this.#flushing = this.#fh.datasync().then(
      () => {
        this.#flushing = undefined;
      },
      (err: Error) => {
        this.#error ??= err;
        this.#flushing = undefined;
      },
    );
  }
}

/** pwrite until every byte is down (a regular file takes all at once unless the disk is full). */
async function writeFully(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const { bytesWritten } = await fh.write(data, done, data.byteLength - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('no bytes written'), { code: 'EIO' });
    done += bytesWritten;
  }
}
