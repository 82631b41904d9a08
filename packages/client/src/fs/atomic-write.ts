import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { type FileHandle, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { procFdPath } from '@reach/protocol/node';

export interface AtomicWriteOptions {
  /**
   * Permission bits set on the new file exactly (umask not applied); default 0o666 minus umask.
   * `'keep'`: those of the regular file being replaced, looked up where the rename will happen
   * (in the open directory, with openDir), and the default when there is none. A directory in
   * the way fails with EISDIR before anything is written.
   */
  mode?: number | 'keep' | undefined;
  /**
   * Called with the temp file's handle right after it is created, before anything is written;
   * throwing refuses the write (the temp file is removed, the target untouched). The handle may
   * be closed by it.
   */
  confirm?: ((fh: FileHandle, temp: string) => Promise<void>) | undefined;
  /**
   * Opens (and vouches for) the target's directory. With it, every name is looked up in that open
   * directory through its descriptor's `/proc/self/fd/<fd>` link: the temp file is created, the
   * rename done and a failed temp file removed there, whatever the directory's path leads to by
   * then. Without /proc the names are used as they are.
   */
  openDir?: ((dir: string) => Promise<FileHandle>) | undefined;
}

/** A new file only: O_EXCL fails on anything already there, a symlink included (O_NOFOLLOW too). */
const CREATE_NEW = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW;

/** Fills the temp file through its handle (a streamed body); throwing leaves the target untouched. */
export type AtomicWriter = (fh: FileHandle) => Promise<void>;

/**
 * Replaces `path` with `data` (bytes, or a writer that streams them) so readers see the old or the new content, never a mix: a temp file in
 * the same directory is written and fsynced, renamed over the target, and the directory fsynced so
 * the rename survives a crash. On any failure the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array | AtomicWriter,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  const tempName = `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`;
  const dirFh = options.openDir ? await options.openDir(dir) : undefined;
  // Where names are looked up: the open directory itself when the kernel can name it.
  const at = (dirFh && procFdPath(dirFh)) ?? dir;
  const temp = join(at, tempName);
  let renamed = false;
  try {
    const mode =
      options.mode === 'keep' ? await modeOfExisting(join(at, basename(path)), path) : options.mode;
    const fh = await open(temp, CREATE_NEW, 0o666);
    try {
      await options.confirm?.(fh, join(dir, tempName));
      if (mode !== undefined) await fh.chmod(mode);
      if (typeof data === 'function') await data(fh);
      else await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, join(at, basename(path)));
    renamed = true;
    if (dirFh) await dirFh.sync().catch(() => undefined);
    else await fsyncDir(dir);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
    await dirFh?.close().catch(() => undefined);
  }
}

/**
 * The permission bits of the regular file at `at` (not following a symlink: one put there is
 * replaced by the rename, so its target's bits are not taken), undefined when there is none.
 */
async function modeOfExisting(at: string, path: string): Promise<number | undefined> {
  const st = await lstat(at).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (st?.isDirectory()) {
    throw Object.assign(new Error(`is a directory: ${path}`), { code: 'EISDIR', path });
  }
  return st?.isFile() ? st.mode & 0o7777 : undefined;
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
