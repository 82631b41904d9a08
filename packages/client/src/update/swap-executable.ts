import { copyFile, link, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { diskFull } from './download-artifact.ts';

/** The files beside the executable an update uses. */
export function executableFiles(exe: string) {
  return { exe, next: `${exe}.new`, prev: `${exe}.prev`, failed: `${exe}.failed` };
}

/**
 * Copies the verified artifact to `<exe>.new` beside the executable (same file system, so the swap
 * is a rename), fsynced and made executable (0755). A full disk is UPDATE_REFUSED with nothing
 * replaced: `<exe>.new` is removed.
 */
export async function stageExecutable(exe: string, verified: string): Promise<void> {
  const { next } = executableFiles(exe);
  try {
    await rm(next, { force: true });
    await copyFile(verified, next);
    const fh = await open(next, 'r+');
    try {
      await fh.chmod(0o755);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await rm(next, { force: true });
    throw diskFull(err) ?? err;
  }
}

/**
 * Puts `<exe>.new` in place and keeps the running one as `<exe>.prev`.
 * POSIX: `.prev` is a hard link to the running file, then `.new` is renamed over `exe` (one atomic
 * rename: `exe` always names a whole executable). Windows: a running .exe cannot be overwritten or
 * deleted but can be renamed, so `exe` → `.prev` then `.new` → `exe` (a crash between the two
 * leaves `.prev`, which `restoreExecutable` puts back).
 */
export async function swapExecutable(
  exe: string,
  platform: NodeJS.Platform = process.platform,
): Promise<void> {
  const { next, prev } = executableFiles(exe);
  await rm(prev, { force: true });
  if (platform === 'win32') {
    await rename(exe, prev);
    await rename(next, exe);
  } else {
    await link(exe, prev).catch(() => copyFile(exe, prev));
    await rename(next, exe);
  }
  await syncDir(dirname(exe));
}

/** Puts `<exe>.prev` back as `exe` (the failed one is kept as `<exe>.failed` on Windows). */
export async function restoreExecutable(
  exe: string,
  platform: NodeJS.Platform = process.platform,
): Promise<void> {
  const { prev, failed } = executableFiles(exe);
  if (platform === 'win32') {
    await rm(failed, { force: true });
    await rename(exe, failed).catch(() => {});
  }
  await rename(prev, exe);
  await syncDir(dirname(exe));
}

async function syncDir(dir: string): Promise<void> {
  // Windows cannot open a directory for fsync; the renames are durable on NTFS's own terms there.
  if (process.platform === 'win32') return;
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
