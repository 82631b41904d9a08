import { existsSync } from 'node:fs';
import { type FileHandle, readlink } from 'node:fs/promises';

/**
 * A Windows process has no procfs; under wine `/proc` resolves to `Z:\proc`, the Linux host's view
 * of wine's own descriptors, which would name the wrong files.
 */
const PROC_FD = process.platform !== 'win32' && existsSync('/proc/self/fd');

/**
 * The kernel's path of an open file: Linux's `/proc/self/fd/<fd>` link, which names the file the
 * descriptor refers to (the directories it was reached through as they are now, not the name it
 * was opened by); a file unlinked since gets " (deleted)" appended. Undefined where procfs is not
 * mounted (macOS, some containers). Both path allow-lists (the client's PathPolicy, the server's
 * TransferRoots) use it to check what an operation actually opened.
 */
export async function openedPath(fh: FileHandle): Promise<string | undefined> {
  if (!PROC_FD) return undefined;
  try {
    return await readlink(`/proc/self/fd/${fh.fd}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EPERM') return undefined;
    throw err;
  }
}

/**
 * A path that names what `fh` refers to, through its `/proc/self/fd/<fd>` link: names looked up
 * under it land in the directory this process holds open, whatever that directory's own path
 * leads to by now. Undefined where procfs is not mounted. Valid only while `fh` is open.
 */
export function procFdPath(fh: FileHandle): string | undefined {
  return PROC_FD ? `/proc/self/fd/${fh.fd}` : undefined;
}
