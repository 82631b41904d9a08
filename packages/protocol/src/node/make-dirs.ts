import { type FileHandle, lstat, mkdir, open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ReachError } from '../errors.ts';
import { isSymlinkRefusal, OPEN_DIR } from './open-flags.ts';
import { openedPath, procFdPath } from './opened-path.ts';

/**
 * `mkdir -p` for a path an allow-list has checked (`dir` resolved: no symlink in its existing part),
 * done so that a component swapped for a symlink after the check cannot make it create directories
 * elsewhere. The deepest existing ancestor is opened without following a link and must be, by its
 * descriptor's kernel path, the very directory the check saw; each missing component is then made
 * inside the directory held open before it and opened (O_NOFOLLOW) to make the next. Fails with
 * PATH_DENIED when a link or another directory turned up where the check saw none, and with
 * ENOTDIR (Node's error, for the caller to word) when a component is not a directory. Without
 * procfs it is a plain recursive mkdir by name.
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  let existing = dir;
  for (;;) {
    const st = await lstat(existing).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st !== undefined || dirname(existing) === existing) break;
    missing.unshift(basename(existing));
    existing = dirname(existing);
  }
  // Opened even when nothing is missing: O_DIRECTORY answers ENOTDIR for a file in the way.
  let fh = await openDirectory(existing, existing, dir);
  try {
    if (missing.length === 0) return;
    if (procFdPath(fh) === undefined) {
      await mkdir(dir, { recursive: true });
      return;
    }
    const at = await openedPath(fh);
    if (at !== existing) throw swapped(existing, dir);
    let shown = existing;
    for (const name of missing) {
      const next = join(procFdPath(fh) as string, name);
      shown = join(shown, name);
      await mkdir(next).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const child = await openDirectory(next, shown, dir);
      await fh.close();
      fh = child;
    }
  } finally {
    await fh.close();
  }
}

/** Opens a directory without following a final symlink; a symlink there (`shown`) is PATH_DENIED. */
async function openDirectory(path: string, shown: string, dir: string): Promise<FileHandle> {
  try {
    return await open(path, OPEN_DIR);
  } catch (err) {
    if (await isSymlinkRefusal(err, path, OPEN_DIR)) throw swapped(shown, dir);
    throw err;
  }
}

function swapped(component: string, dir: string): ReachError {
  const message = `${component} is not the directory it was when ${dir} was checked (a symbolic link appeared)`;
  return new ReachError('PATH_DENIED', message, {
    details: { path: dir },
    recoveryHint: 'retry; if it persists, something is swapping directories under this path',
  });
}
