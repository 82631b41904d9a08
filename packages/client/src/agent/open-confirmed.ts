import { constants as fsConstants } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
import type { PathPolicy } from './path-policy.ts';

/**
 * Opens `resolved` (a path `policy.check` returned, so none of its existing components was a
 * symlink) with `flags` plus O_NOFOLLOW, then confirms the open file is inside the policy
 * (PathPolicy.confirmOpen). A symlink put in place of the last component after the check fails
 * the open with ELOOP, answered as PATH_DENIED; one put in place of a directory component is
 * caught by the confirm. The caller owns the returned handle; on any failure none is left open.
 */
export async function openConfirmed(
  policy: PathPolicy,
  resolved: string,
  flags: number,
): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(resolved, flags | fsConstants.O_NOFOLLOW);
  } catch (err) {
    if (await isSymlinkRefusal(err, resolved, flags)) {
      throw new ReachError('PATH_DENIED', `a symbolic link appeared in ${resolved} after it was checked`, {
        details: { path: resolved },
        recoveryHint: 'retry; if it persists, something on the client is swapping files under this path',
      });
    }
    throw err;
  }
  await policy.confirmOpen(fh, resolved);
  return fh;
}

/**
 * Opens directory `resolved` (a path `policy.check` returned) and confirms it (openConfirmed).
 * O_DIRECTORY: only a directory opens, so nothing swapped in (a device node) is opened for real;
 * O_NONBLOCK: nor does a FIFO hang the open.
 */
export function openConfirmedDir(policy: PathPolicy, resolved: string): Promise<FileHandle> {
  return openConfirmed(policy, resolved, DIR_FLAGS);
}

const DIR_FLAGS = fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NONBLOCK;

/**
 * Whether an open failed because of a symlink that was not there at the check: O_NOFOLLOW gives
 * ELOOP, except with O_DIRECTORY, where Linux answers ENOTDIR (the lstat only picks the message).
 */
async function isSymlinkRefusal(err: unknown, resolved: string, flags: number): Promise<boolean> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return true;
  if (code !== 'ENOTDIR' || (flags & fsConstants.O_DIRECTORY) === 0) return false;
  return (await lstat(resolved).catch(() => undefined))?.isSymbolicLink() === true;
}
