import { constants as fsConstants } from 'node:fs';
import { lstat } from 'node:fs/promises';

/**
 * Opening a directory an allow-list resolved: only a directory opens (so nothing swapped in, a
 * device node say, is opened for real), a FIFO cannot hang the open, and no final symlink is
 * followed (one there appeared after the check).
 */
export const OPEN_DIR =
  fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW;

/** Opening a file an allow-list resolved, to read it: as OPEN_DIR, for any type (fstat decides). */
export const OPEN_READ = fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW;

/**
 * Whether an open of `path` with `flags` (O_NOFOLLOW among them) failed because a symlink is
 * there: O_NOFOLLOW gives ELOOP, except with O_DIRECTORY, where Linux answers ENOTDIR, told apart
 * from a plain non-directory by an lstat.
 */
export async function isSymlinkRefusal(err: unknown, path: string, flags: number): Promise<boolean> {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return true;
  if (code !== 'ENOTDIR' || (flags & fsConstants.O_DIRECTORY) === 0) return false;
  return (await lstat(path).catch(() => undefined))?.isSymbolicLink() === true;
}
