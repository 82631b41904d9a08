import { stat } from 'node:fs/promises';
import { LIMITS, ReachError, ReadFileParams, type ReadFileResult } from '@reach/protocol';
import { fsError, OPEN_READ } from '@reach/protocol/node';
import { notRegularFile } from '../../fs/read-bounded.ts';
import { openConfirmed } from '../open-confirmed.ts';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';
import { encodePage } from './encode-page.ts';

export interface ReadFileDeps {
  policy: PathPolicy;
}

/** A page of a file: where it starts, how many bytes at most, and the JSON size its content may take. */
export interface PageRequest {
  offset: number;
  length?: number | undefined;
  maxBytes?: number | undefined;
}

export function tooLarge(path: string, size: number, limit: number): ReachError {
  return new ReachError('FILE_TOO_LARGE', `file is ${size} bytes, over the ${limit}-byte limit: ${path}`, {
    details: { path, size, limit },
    recoveryHint: 'use upload_file (streams any size, SHA-256 verified)',
  });
}

/**
 * `read_file`: one page of a file, `length` bytes from `offset` (default: as much as the result
 * cap allows). UTF-8 text as is, anything else base64 with `binary: true`; `eof` says whether the
 * page reaches the end. Any size pages; nothing past the page is read.
 */
export function readFileHandler(deps: ReadFileDeps) {
  return defineHandler(
    ReadFileParams,
    async ({ path, offset, length, max_bytes }): Promise<ReadFileResult> => {
      const resolved = await deps.policy.check(path);
      return readChecked(deps.policy, path, resolved, { offset, length, maxBytes: max_bytes });
    },
  );
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
  page: PageRequest,
): Promise<ReadFileResult> {
  const maxBytes = page.maxBytes ?? LIMITS.defaultResultBytes;
  const want = Math.min(page.length ?? maxBytes, maxBytes);
  try {
    // By name first, so a directory gets its own answer and a FIFO or device node is not opened.
    const st = await stat(resolved);
    if (st.isDirectory()) {
      throw new ReachError('INVALID_ARGUMENT', `is a directory: ${path}`, {
        details: { path },
        recoveryHint: 'use list_files',
      });
    }
    if (!st.isFile()) throw notRegularFile(path);
    // OPEN_READ's O_NONBLOCK: a FIFO swapped in since the stat must not hang the open.
    const fh = await openConfirmed(policy, resolved, OPEN_READ);
    try {
      const fst = await fh.stat();
      if (!fst.isFile()) throw notRegularFile(path);
      const bytes = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(bytes, got, want - got, page.offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      // procfs files stat as size 0 yet hold bytes: for them the end is where a read comes up short.
      const atEnd = got < want || (fst.size > 0 && page.offset + got >= fst.size);
      const encoded = encodePage(bytes.subarray(0, got), maxBytes, atEnd);
      return {
        ...encoded,
        size: Math.max(fst.size, page.offset + got),
        offset: page.offset,
        eof: atEnd && encoded.length === got,
        path,
      };
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fsError(err, path);
  }
}
