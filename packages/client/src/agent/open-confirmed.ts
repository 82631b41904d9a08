import { constants as fsConstants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
import { isSymlinkRefusal, OPEN_DIR } from '@reach/protocol/node';
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
 * Opens directory `resolved` (a path `policy.check` returned) with OPEN_DIR (only a directory
 * opens, no FIFO hangs it) and confirms it (openConfirmed).
 */
export function openConfirmedDir(policy: PathPolicy, resolved: string): Promise<FileHandle> {
  return openConfirmed(policy, resolved, OPEN_DIR);
}
