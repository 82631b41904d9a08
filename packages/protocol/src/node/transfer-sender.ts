import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { ReachError } from '../errors.ts';
import {
  fromTransferFailure,
  TRANSFER,
  TransferAck,
  TransferFailure,
  TransferOffer,
  transferFailure,
} from '../transfer.ts';
import { BufferPool } from './buffer-pool.ts';
import { fsError } from './fs-error.ts';
import type { LitterSweeper } from './litter-sweeper.ts';
import type { SendSource } from './open-source.ts';
import { tarDirectory } from './tar-directory.ts';
import type { TransferChannel } from './transfer-channel.ts';

export interface TransferOutcome {
  /** Bytes of the whole file (or tar stream), resumed prefix included. */
  size: number;
  sha256: string;
  /** Where this run started in the source (> 0 when a partial file was resumed). */
  resumedFrom: number;
  /** Body bytes that crossed the channel in this run. */
  bytesTransferred: number;
  /** Directory transfers: entries packed or extracted. */
  entries?: number;
}

export interface TransferProgress {
  /** Called as body bytes move: bytes done this run, and the total expected when known. */
  onProgress?: (done: number, total: number | undefined) => void;
}

/**
 * Checks a file a transfer has just opened (the source, file or directory, in openSource; the
 * receiver's temp file) before a byte of it moves, e.g. that the descriptor's real path is still
 * allowed; throwing refuses the transfer. Called once per transfer, never per chunk; it may close
 * the handle.
 */
export type ConfirmOpened = (fh: FileHandle, path: string) => Promise<void>;

export interface TransferOptions extends TransferProgress {
  /** Receiving only: vouches for the temp file once opened (a source is confirmed by openSource). */
  confirm?: ConfirmOpened | undefined;
  /**
   * Receiving only: opens (and vouches for) the destination's directory; the temp file or tree is
   * then made, filled, renamed and removed inside that open directory (transfer-receiver.ts).
   */
  openDir?: ((dir: string) => Promise<FileHandle>) | undefined;
  /**
   * Receiving only: told of each destination directory, and asked to sweep it after a failed
   * receive (litter-sweeper.ts).
   */
  litter?: Pick<LitterSweeper, 'note' | 'afterFailure'> | undefined;
  /**
   * Receiving a file only: called once the bytes are verified, just before the temp file is
   * renamed into place — where a journal names the content the destination is about to hold, so
   * a receiver killed between the rename and its `applied` record is judged by the destination.
   */
  beforeCommit?: ((done: { path: string; size: number; sha256: string }) => Promise<void>) | undefined;
}

const OfferOrFailure = z.union([TransferOffer, TransferFailure]);
/** Read buffers per file transfer: one being read, one or two held by the channel. */
const READ_BUFFERS = 4;

/**
 * Hashes the first `length` bytes of an open file (left open; `path` names it in errors); the Hash
 * can go on with the rest.
 */
export async function hashPrefix(fh: FileHandle, length: number, path: string): Promise<Hash> {
  const hash = createHash('sha256');
  if (length === 0) return hash;
  let seen = 0;
  const input = fh.createReadStream({
    start: 0,
    end: length - 1,
    highWaterMark: 1024 * 1024,
    autoClose: false,
  });
  for await (const chunk of input as AsyncIterable<Buffer>) {
    hash.update(chunk);
    seen += chunk.byteLength;
  }
  if (seen !== length)
    throw new ReachError('TRANSFER_FAILED', `file is shorter than ${length} bytes: ${path}`);
  return hash;
}

/**
 * The sending role, after the request exchange: reads the receiver's offer, starts at its offset
 * when the receiver's bytes hash the same as the source's prefix (else at 0), streams the body,
 * sends the trailer and waits for the receiver's ack. The receiver's hash is checked against ours.
 */
export async function sendSource(
  ch: TransferChannel,
  source: SendSource,
  opts: TransferOptions = {},
): Promise<TransferOutcome> {
  const offer = await ch.readFrame(OfferOrFailure, 'offer');
  if (!offer.ok) throw fromTransferFailure(offer);

  let hash = createHash('sha256');
  let offset = 0;
  if (source.kind === 'file' && offer.offset > 0 && offer.offset <= source.size && offer.prefix_sha256) {
    const prefix = await hashPrefix(source.fh, offer.offset, source.path).catch(() => undefined);
    if (prefix && prefix.copy().digest('hex') === offer.prefix_sha256) {
      hash = prefix;
      offset = offer.offset;
    }
  }
  await ch.writeFrame({ start: true, offset });

  let sent = 0;
  let entries: number | undefined;
  const total = source.kind === 'file' ? source.size - offset : undefined;
  let sourceError: ReachError | undefined;
  const treeStats = { entries: 0, skipped: 0 };
  // File chunks are read into a few pooled buffers, each given back once the channel has taken
  // it; directory chunks come from tar and are fresh.
  const pool = source.kind === 'file' ? new BufferPool(READ_BUFFERS, 4 + TRANSFER.chunkBytes) : undefined;
  const chunks =
    source.kind === 'file' && pool
      ? fileChunks(source.fh, source.path, offset, source.size, pool)
      : framedPieces(tarDirectory(source.path, source.fh, treeStats));
  // A write the SSH layer still holds when the connection drops never calls back: stop waiting.
  const stopPool = (): void => pool?.close();
  ch.signal.addEventListener('abort', stopPool, { once: true });
  const release = (framed: Buffer): void => {
    if (pool?.owns(framed)) pool.release(framed);
  };
  try {
    for await (const framed of chunks) {
      const payload = framed.subarray(4);
      hash.update(payload);
      await ch.writeFramedChunk(framed, () => release(framed));
      sent += payload.byteLength;
      opts.onProgress?.(sent, total);
    }
  } catch (err) {
    const e = fsError(err, source.path);
    if (e.code === 'CONNECTION_ERROR') throw e;
    sourceError = e;
  } finally {
    ch.signal.removeEventListener('abort', stopPool);
    pool?.close();
  }
  if (source.kind === 'dir') entries = treeStats.entries;
  await ch.endBody();
  if (sourceError) {
    await ch.writeFrame(transferFailure(sourceError));
    throw sourceError;
  }
  const size = offset + sent;
  if (source.kind === 'file' && size !== source.size) {
    const err = new ReachError('TRANSFER_FAILED', `file changed while it was sent: ${source.path}`);
    await ch.writeFrame(transferFailure(err));
    throw err;
  }
  const sha256 = hash.digest('hex');
  await ch.writeFrame({ ok: true, size, sha256 });

  const ack = await ch.readFrame(TransferAck, 'ack');
  if (!ack.ok) throw fromTransferFailure(ack);
  if (ack.sha256 !== sha256 || ack.size !== size) {
    throw new ReachError('INTEGRITY_ERROR', 'the receiver stored different bytes than were sent', {
      details: { sent_sha256: sha256, received_sha256: ack.sha256, size, received_size: ack.size },
    });
  }
  const outcome: TransferOutcome = { size, sha256, resumedFrom: offset, bytesTransferred: sent };
  if (entries !== undefined) outcome.entries = entries;
  return outcome;
}

/**
 * Reads the file from `offset` to `size` in chunks, each in a pooled buffer with 4 bytes reserved
 * in front for the chunk header, so header and data go out in one write (one SSH packet fewer per
 * chunk). The next read is already under way while a chunk is being sent.
 */
async function* fileChunks(
  fh: FileHandle,
  path: string,
  offset: number,
  size: number,
  pool: BufferPool,
): AsyncGenerator<Buffer> {
  if (size <= offset) return;
  let pos = offset;
  const readNext = async (): Promise<Buffer | undefined> => {
    if (pos >= size) return undefined;
    const n = Math.min(TRANSFER.chunkBytes, size - pos);
    const at = pos;
    pos += n;
    const buf = await pool.acquire();
    const { bytesRead } = await fh.read(buf, 4, n, at);
    if (bytesRead !== n) throw new ReachError('TRANSFER_FAILED', `file shrank while it was sent: ${path}`);
    return buf.subarray(0, 4 + n);
  };
  let pending = readNext();
  try {
    for (;;) {
      const chunk = await pending;
      if (chunk === undefined) return;
      pending = readNext();
      yield chunk;
    }
  } finally {
    await pending.catch(() => undefined);
  }
}

/** Tar pieces merged (or split) into framed chunks of about TRANSFER.chunkBytes. */
async function* framedPieces(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of coalesce(source)) {
    const framed = Buffer.allocUnsafe(4 + chunk.byteLength);
    chunk.copy(framed, 4);
    yield framed;
  }
}

/**
 * Merges small pieces (tar headers are 512 bytes) into chunks of up to TRANSFER.chunkBytes and
 * splits larger ones, so each body chunk carries a useful amount of data.
 */
async function* coalesce(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const limit = TRANSFER.chunkBytes;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (let chunk of source) {
    while (chunk.byteLength > limit) {
      if (pendingBytes > 0) {
        yield Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
      yield chunk.subarray(0, limit);
      chunk = chunk.subarray(limit);
    }
    if (pendingBytes === 0 && chunk.byteLength >= limit / 2) {
      yield chunk;
      continue;
    }
    pending.push(chunk);
    pendingBytes += chunk.byteLength;
    if (pendingBytes >= limit / 2) {
      yield Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}
