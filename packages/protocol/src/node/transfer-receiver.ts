import { createHash, type Hash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, link, lstat, open, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { ReachError } from '../errors.ts';
import {
  fromTransferFailure,
  TransferFailure,
  type TransferOffer,
  TransferStart,
  TransferTrailer,
  transferFailure,
} from '../transfer.ts';
import { FileSink } from './file-sink.ts';
import { fsError } from './fs-error.ts';
import { makeDirs } from './make-dirs.ts';
import { procFdPath } from './opened-path.ts';
import { prepareDir } from './prepare-dir.ts';
import { sweepStalePartials } from './stale-partials.ts';
import type { TransferChannel } from './transfer-channel.ts';
import type { ConfirmOpened, TransferOptions, TransferOutcome } from './transfer-sender.ts';
import { hashPrefix } from './transfer-sender.ts';

/** Where a receiver puts what arrives. `path` is already resolved and allowed. */
export type ReceiveTarget =
  | {
      kind: 'file';
      path: string;
      size: number;
      mode: number;
      overwrite: boolean;
      /** Keep the partial file under a name derived from this key, and resume from it. */
      resumeKey?: string | undefined;
    }
  | { kind: 'dir'; path: string; mode: number; overwrite: boolean };

const StartOrFailure = z.union([TransferStart, TransferFailure]);

/** Name of the temp file or directory beside `dest`: hidden, recognisable, bounded in length. */
export function partialPath(dest: string, suffix: string): string {
  return join(dirname(dest), `.${basename(dest).slice(0, 120)}.reach-partial-${suffix}`);
}

/**
 * The receiving role, after the request exchange: prepares a temp file (or directory) beside the
 * destination, offers the bytes of a resumable partial file, takes the body, checks the trailer's
 * size and SHA-256 against what arrived, and only then fsyncs and renames into place. Anything
 * that fails leaves the destination as it was; the temp is removed, except a resumable partial
 * cut off mid-transfer, which is kept for the next attempt.
 */
export async function receiveTarget(
  ch: TransferChannel,
  target: ReceiveTarget,
  opts: TransferOptions = {},
): Promise<TransferOutcome> {
  let prepared: Prepared;
  let dirFh: FileHandle | undefined;
  let place: Place | undefined;
  try {
    await checkDestination(target);
    await makeDirs(dirname(target.path));
    dirFh = opts.openDir ? await opts.openDir(dirname(target.path)) : undefined;
    place = placeIn(target.path, dirFh);
    await opts.litter?.note(dirname(target.path));
    await sweepStalePartials(place.at);
    prepared =
      target.kind === 'file'
        ? await prepareFile(target, place, opts.confirm)
        : await prepareDir(target, place);
  } catch (err) {
    if (place) await opts.litter?.afterFailure(place.at).catch(() => undefined);
    await dirFh?.close().catch(() => undefined);
    const e = fsError(err, target.path);
    await ch.writeFrame(transferFailure(e)).catch(() => {});
    throw e;
  }
  try {
    return await receiveBody(ch, target, opts, prepared);
  } catch (err) {
    // Inside the directory still held open, before it is closed.
    await opts.litter?.afterFailure(place.at).catch(() => undefined);
    throw err;
  } finally {
    await dirFh?.close().catch(() => undefined);
  }
}

async function receiveBody(
  ch: TransferChannel,
  target: ReceiveTarget,
  opts: TransferOptions,
  prepared: Prepared,
): Promise<TransferOutcome> {
  let keepPartial = prepared.resumable;
  try {
    await ch.writeFrame(prepared.offer);
    const start = await ch.readFrame(StartOrFailure, 'start');
    if (!('start' in start)) throw fromTransferFailure(start);
    await prepared.begin(start.offset);
    let received = 0;
    const total = target.kind === 'file' ? target.size - start.offset : undefined;
    await ch.readBody(async (chunk) => {
      await prepared.write(chunk);
      received += chunk.byteLength;
      opts.onProgress?.(received, total);
    });
    const trailer = await ch.readFrame(TransferTrailer, 'trailer');
    if (!trailer.ok) {
      keepPartial = false;
      throw fromTransferFailure(trailer);
    }
    const done = await prepared.finish();
    const size = start.offset + received;
    if (done.sha256 !== trailer.sha256 || size !== trailer.size) {
      keepPartial = false;
      throw new ReachError('INTEGRITY_ERROR', 'received bytes do not match the sender’s SHA-256', {
        details: {
          expected_sha256: trailer.sha256,
          received_sha256: done.sha256,
          size,
          expected_size: trailer.size,
        },
      });
    }
    if (target.kind === 'file') await opts.beforeCommit?.({ path: target.path, size, sha256: done.sha256 });
    await prepared.commit();
    keepPartial = false;
    const outcome: TransferOutcome = {
      size,
      sha256: done.sha256,
      resumedFrom: start.offset,
      bytesTransferred: received,
    };
    if (done.entries !== undefined) outcome.entries = done.entries;
    await ch.writeFrame({ ok: true, size, sha256: done.sha256, entries: done.entries }).catch(() => {});
    return outcome;
  } catch (err) {
    const e = fsError(err, target.path);
    await prepared.discard(keepPartial && e.code !== 'INTEGRITY_ERROR');
    if (e.code !== 'CONNECTION_ERROR') await ch.writeFrame(transferFailure(e)).catch(() => {});
    throw e;
  }
}

/**
 * A receive made ready (a file's temp or partial file, or a tree's temp directory): what to offer
 * the sender, then the steps of the transfer in order; `discard` undoes everything but a kept partial.
 */
export interface Prepared {
  offer: TransferOffer;
  resumable: boolean;
  begin(offset: number): Promise<void>;
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<{ sha256: string; entries?: number }>;
  commit(): Promise<void>;
  discard(keepPartial: boolean): Promise<void>;
}

async function checkDestination(target: ReceiveTarget): Promise<void> {
  const st = await lstat(target.path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!st) return;
  if (!target.overwrite) {
    throw new ReachError('INVALID_ARGUMENT', `destination exists: ${target.path}`, {
      details: { path: target.path },
      recoveryHint: 'pass overwrite: true to replace it, or choose another path',
    });
  }
  if (target.kind === 'file' && st.isDirectory()) {
    throw new ReachError('INVALID_ARGUMENT', `destination is a directory: ${target.path}`, {
      details: { path: target.path },
      recoveryHint: 'name the destination file itself, e.g. <dir>/<name>',
    });
  }
}

/** Where a receiver looks up the names beside its destination. */
export interface Place {
  /** The destination's directory: its open descriptor's /proc link when there is one, else its path. */
  at: string;
  /** Whether `at` is a held-open directory's /proc link (names in it cannot be redirected). */
  held: boolean;
  /** The destination, looked up in `at`. */
  dest: string;
  /** A temp name beside the destination (partialPath), looked up in `at`. */
  partial(suffix: string): string;
  /** Makes renames in the directory durable. */
  sync(): Promise<void>;
}

/**
 * `dirFh`, when given, is the destination's directory, opened (and vouched for) by the caller:
 * then every temp name is created, filled, renamed or linked and removed inside that open
 * directory through its `/proc/self/fd/<fd>` link, whatever the directory's path leads to by then.
 * Without it, or without /proc, names are used as they are.
 */
function placeIn(path: string, dirFh: FileHandle | undefined): Place {
  const held = dirFh ? procFdPath(dirFh) : undefined;
  const at = held ?? dirname(path);
  return {
    at,
    held: held !== undefined,
    dest: join(at, basename(path)),
    partial: (suffix) => join(at, basename(partialPath(path, suffix))),
    sync: async () => {
      if (dirFh) await dirFh.sync().catch(() => undefined);
      else await syncDir(dirname(path));
    },
  };
}

async function prepareFile(
  target: Extract<ReceiveTarget, { kind: 'file' }>,
  place: Place,
  confirm: ConfirmOpened | undefined,
): Promise<Prepared> {
  const resumable = target.resumeKey !== undefined;
  const suffix = target.resumeKey ?? randomBytes(8).toString('hex');
  const shown = partialPath(target.path, suffix);
  const temp = place.partial(suffix);
  let fh: FileHandle;
  let have = 0;
  let hash: Hash;
  if (resumable) {
    // O_NOFOLLOW: without O_EXCL, O_CREAT would follow a symlink planted under this name and
    // create its target wherever it points, before any confirm could refuse it.
    fh = await open(temp, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_NOFOLLOW, 0o600);
    await confirmOrRemove(fh, temp, shown, confirm);
    have = (await fh.stat()).size;
    if (have > target.size) {
      await fh.truncate(0);
      have = 0;
    }
    // Through the descriptor just confirmed, not by name again.
    hash = await hashPrefix(fh, have, shown);
  } else {
    fh = await open(temp, 'wx', 0o600);
    await confirmOrRemove(fh, temp, shown, confirm);
    hash = createHash('sha256');
  }
  let sink: FileSink | undefined;
  const offer: TransferOffer = { ok: true, offset: have };
  if (have > 0) offer.prefix_sha256 = hash.copy().digest('hex');

  return {
    offer,
    resumable,
    begin: async (offset) => {
      if (offset !== 0 && offset !== have) {
        throw new ReachError('TRANSFER_FAILED', `sender started at ${offset}, not at 0 or ${have}`);
      }
      if (offset === 0 && have > 0) {
        await fh.truncate(0);
        hash = createHash('sha256');
      }
      sink = new FileSink(fh, offset, hash);
    },
    write: (chunk) => sink!.write(chunk),
    finish: async () => {
      await sink!.finish();
      await fh.chmod(target.mode);
      await fh.sync();
      return { sha256: hash.digest('hex') };
    },
    commit: async () => {
      await fh.close();
      if (target.overwrite) {
        await rename(temp, place.dest);
      } else {
        // link() fails if the destination appeared meanwhile: never clobber with overwrite:false.
        await link(temp, place.dest).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EEXIST') {
            throw new ReachError('INVALID_ARGUMENT', `destination exists: ${target.path}`);
          }
          throw err;
        });
        await unlink(temp);
      }
      await place.sync();
    },
    discard: async (keepPartial) => {
      await sink?.abort();
      if (keepPartial) await fh.sync().catch(() => {});
      await fh.close().catch(() => {});
      if (!keepPartial) await rm(temp, { force: true });
    },
  };
}

/**
 * Runs the confirm hook on a just-opened temp file (`shown` is its name for messages); a refused
 * one is closed and removed.
 */
async function confirmOrRemove(
  fh: FileHandle,
  temp: string,
  shown: string,
  confirm: ConfirmOpened | undefined,
): Promise<void> {
  if (!confirm) return;
  try {
    await confirm(fh, shown);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => {});
  await fh.close();
}
