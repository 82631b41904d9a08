import { stat } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
import { OPEN_READ } from '@reach/protocol/node';
import { notRegularFile, readRegularFile } from '../fs/read-bounded.ts';
import { openConfirmed } from './open-confirmed.ts';
import type { PathPolicy } from './path-policy.ts';

/**
 * Reads a whole regular file the path policy allows, for files the client itself consumes (SSH key
 * files): `path` is checked, then read through a confirmed descriptor (readAllowedChecked).
 */
export async function readAllowedFile(policy: PathPolicy, path: string, maxBytes: number): Promise<Buffer> {
  return readAllowedChecked(policy, path, await policy.check(path), maxBytes);
}

/**
 * The part of readAllowedFile after the check: `resolved` is what `policy.check(path)` returned.
 * The file is opened without following a final symlink, confirmed inside the policy by its
 * descriptor (openConfirmed), and read only through that descriptor, at most `maxBytes`.
 * Fails with PATH_DENIED for a symlink swapped in after the check (at the file or a directory
 * above it), INVALID_ARGUMENT for anything but a regular file, FILE_TOO_LARGE past `maxBytes`,
 * (worded by `tooLargeError` when given) past `maxBytes`, and Node's own errors (ENOENT, EACCES,
 * ...) unmapped, for the caller to word.
 */
export async function readAllowedChecked(
  policy: PathPolicy,
  path: string,
  resolved: string,
  maxBytes: number,
  tooLargeError: (path: string, size: number, limit: number) => ReachError = tooLarge,
): Promise<Buffer> {
  // By name first, so that in the ordinary case a FIFO or device node is not opened at all.
  const st = await stat(resolved);
  if (!st.isFile()) throw notRegularFile(path);
  if (st.size > maxBytes) throw tooLargeError(path, st.size, maxBytes);
  // OPEN_READ's O_NONBLOCK: a FIFO swapped in since the stat must not hang the open.
  const fh = await openConfirmed(policy, resolved, OPEN_READ);
  try {
    // Bounded by what is read: also catches files that grew since stat, or report size 0 (/proc).
    return await readRegularFile(fh, path, maxBytes, (atLeast) =>
      tooLargeError(path, Math.max(st.size, atLeast), maxBytes),
    );
  } finally {
    await fh.close();
  }
}

function tooLarge(path: string, size: number, limit: number): ReachError {
  return new ReachError('FILE_TOO_LARGE', `file is ${size} bytes, over the ${limit}-byte limit: ${path}`, {
    details: { path, size, limit },
  });
}
