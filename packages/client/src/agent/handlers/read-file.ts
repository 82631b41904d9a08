import { constants as fsConstants } from 'node:fs';
import { stat } from 'node:fs/promises';
import { LIMITS, ReachError, ReadFileParams, type ReadFileResult } from '@reach/protocol';
import { fsError } from '@reach/protocol/node';
import { readBounded } from '../../fs/read-bounded.ts';
import { openConfirmed } from '../open-confirmed.ts';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';

export interface ReadFileDeps {
  policy: PathPolicy;
  /** Largest body returned inline, in bytes. */
  maxFileBytes?: number;
}

export function tooLarge(path: string, size: number, limit: number): ReachError {
  return new ReachError('FILE_TOO_LARGE', `file is ${size} bytes, over the ${limit}-byte limit: ${path}`, {
    details: { path, size, limit },
    recoveryHint: 'use download_file',
  });
}

/** `read_file`: UTF-8 text as is, anything else base64 with `binary: true`. */
export function readFileHandler(deps: ReadFileDeps) {
  const limit = deps.maxFileBytes ?? LIMITS.maxFileBytes;
  return defineHandler(ReadFileParams, async ({ path }): Promise<ReadFileResult> => {
    const resolved = await deps.policy.check(path);
    return readChecked(deps.policy, path, resolved, limit);
  });
}

/**
 * The part of `read_file` after the check: `resolved` is what `policy.check(path)` returned. The
 * file is opened without following a final symlink and confirmed inside the policy by its open
 * descriptor (openConfirmed), and read only through that descriptor.
 */
export async function readChecked(
  policy: PathPolicy,
  path: string,
  resolved: string,
  limit: number,
): Promise<ReadFileResult> {
  try {
    // stat before open: opening a FIFO would block, and the size limit is checked before reading.
    const st = await stat(resolved);
    if (st.isDirectory()) {
      throw new ReachError('INVALID_ARGUMENT', `is a directory: ${path}`, {
        details: { path },
        recoveryHint: 'use list_files',
      });
    }
    if (!st.isFile()) throw notRegular(path);
    if (st.size > limit) throw tooLarge(path, st.size, limit);
    // O_NONBLOCK: a FIFO swapped in since the stat must not hang the open (no effect on files).
    const fh = await openConfirmed(policy, resolved, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
    try {
      if (!(await fh.stat()).isFile()) throw notRegular(path);
      // Bounded: also catches files that grew since stat, or report size 0 (/proc).
      const body = await readBounded(fh, limit);
      if (body === null) throw tooLarge(path, Math.max(st.size, limit + 1), limit);
      const text = decodeUtf8(body);
      // Text that JSON escaping would blow past one frame (control bytes become \u00XX) goes as
      // base64, which is at most 4/3 of the limit.
      const fits =
        text !== null && Buffer.byteLength(JSON.stringify(text)) <= LIMITS.maxFrameBytes - 64 * 1024;
      return text === null || !fits
        ? { content: body.toString('base64'), size: body.length, path, binary: true }
        : { content: text, size: body.length, path };
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fsError(err, path);
  }
}

function notRegular(path: string): ReachError {
  return new ReachError('INVALID_ARGUMENT', `not a regular file: ${path}`, { details: { path } });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(body: Buffer): string | null {
  try {
    return utf8.decode(body);
  } catch {
    return null;
  }
}
