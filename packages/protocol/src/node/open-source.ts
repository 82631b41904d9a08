import { type FileHandle, open, stat } from 'node:fs/promises';
import { ReachError } from '../errors.ts';
import { OPEN_READ } from './open-flags.ts';
import type { ConfirmOpened } from './transfer-sender.ts';

/**
 * What a sender streams, already open: a file of known size, or a directory sent as a tar stream.
 * Type, size, mode and mtime come from the descriptor (fstat), so they describe what is sent.
 * The caller owns `fh` and closes it once the transfer is over.
 */
export type SendSource =
  | { kind: 'file'; path: string; fh: FileHandle; size: number; mode: number; mtimeMs: number }
  | { kind: 'dir'; path: string; fh: FileHandle; mode: number; mtimeMs: number };

/**
 * Opens a transfer's source (`path` as an allow-list resolved it) and, when `confirm` is given,
 * has it vouch for the descriptor before anything is read or described to the peer. A stat by
 * name first keeps device nodes and FIFOs from being opened at all in the ordinary case; the
 * fstat of the open descriptor then decides. Fails with INVALID_ARGUMENT for anything but a
 * regular file or a directory, with what `confirm` throws, and with Node's own errors (ENOENT,
 * ELOOP, ...) for the caller to word. On failure no descriptor is left open.
 */
export async function openSource(path: string, confirm?: ConfirmOpened): Promise<SendSource> {
  if (!isFileOrDir(await stat(path))) throw notFileOrDir(path);
  // OPEN_READ: a symlink at the end appeared since `path` was resolved, and is refused (ELOOP).
  const fh = await open(path, OPEN_READ);
  try {
    await confirm?.(fh, path);
    const st = await fh.stat();
    if (!isFileOrDir(st)) throw notFileOrDir(path);
    const common = { path, fh, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
    return st.isFile() ? { kind: 'file', size: st.size, ...common } : { kind: 'dir', ...common };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

function isFileOrDir(st: { isFile(): boolean; isDirectory(): boolean }): boolean {
  return st.isFile() || st.isDirectory();
}

function notFileOrDir(path: string): ReachError {
  return new ReachError('INVALID_ARGUMENT', `not a regular file or directory: ${path}`, {
    details: { path },
  });
}
