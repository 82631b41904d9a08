import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** Permission bits set on the new file exactly (umask not applied); default 0o666 minus umask. */
  mode?: number | undefined;
}

/**
 * Replaces `path` with `data` so readers see the old or the new content, never a mix: a temp file in
 * the same directory is written and fsynced, renamed over the target, and the directory fsynced so
 * the rename survives a crash. On any failure the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const fh = await open(temp, 'wx', 0o666);
    try {
      if (options.mode !== undefined) await fh.chmod(options.mode);
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, path);
    renamed = true;
    await fsyncDir(dir);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

/** fsync a directory so a rename in it is durable; some filesystems refuse it, which is harmless. */
async function fsyncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // EINVAL/EISDIR/EPERM on filesystems without directory fsync: nothing more to do.
  } finally {
    await fh?.close();
  }
}
