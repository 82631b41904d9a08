import { type FileHandle, mkdir, open, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { ReachError } from '@reach/protocol';
import { OPEN_DIR, openedPath } from '@reach/protocol/node';

/**
 * Resolves a path the way it will be used: `..` removed lexically, then the longest existing
 * prefix replaced by its realpath (so symlinks in it are followed) and the rest appended.
 */
export async function resolveServerPath(path: string): Promise<string> {
  let existing = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      const real = await realpath(existing);
      return rest.length === 0 ? real : join(real, ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = dirname(existing);
      if (parent === existing) return resolve(path);
      rest.push(basename(existing));
      existing = parent;
    }
  }
}

function isWithin(path: string, root: string): boolean {
  if (root === sep) return true;
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The server-side allow-list of transfer paths: `<data-dir>/transfers` plus the operator's
 * `--transfer-root`s. A path is resolved (symlinks and `..` included) before it is compared, so
 * an MCP caller cannot read or overwrite anything outside them.
 */
export class TransferRoots {
  readonly #configured: readonly string[];
  #resolved: string[] = [];

  /** `roots[0]` is the default root; relative paths given to `check` are taken from it. */
  constructor(roots: readonly string[]) {
    if (roots.length === 0) throw new ReachError('INVALID_ARGUMENT', 'at least one transfer root is needed');
    this.#configured = roots.map((r) => resolve(r));
  }

  get roots(): readonly string[] {
    return this.#configured;
  }

  /** Creates the default root (0700) and resolves every root. */
  async start(): Promise<void> {
    await mkdir(this.#configured[0]!, { recursive: true, mode: 0o700 });
    this.#resolved = await Promise.all(this.#configured.map((r) => resolveServerPath(r)));
  }

  /**
   * Resolves `path` (relative ones against the default root) and returns it, or throws
   * PATH_DENIED. `write` refuses a root itself: a download may not replace a whole root.
   */
  async check(path: string, access: 'read' | 'write'): Promise<string> {
    if (path.includes('\0')) throw new ReachError('INVALID_ARGUMENT', 'path must not contain NUL');
    const absolute = isAbsolute(path) ? path : join(this.#configured[0]!, path);
    const resolved = await resolveServerPath(absolute);
    if (this.#resolved.length === 0)
      this.#resolved = await Promise.all(this.#configured.map(resolveServerPath));
    const ok = this.#resolved.some(
      (root) => isWithin(resolved, root) && (access === 'read' || resolved !== root),
    );
    if (!ok) {
      throw new ReachError('PATH_DENIED', `server path is outside the transfer roots: ${path}`, {
        details: { path, resolved, transfer_roots: this.#configured },
        recoveryHint: 'use a path under a transfer root (reach-server --transfer-root)',
      });
    }
    return resolved;
  }

  /**
   * Confirms that an open file or directory (`path` names it for messages) lies under a root, by
   * the kernel's path of its descriptor: a directory component swapped for a symlink after
   * `check` is caught here. Refused: the handle is closed and PATH_DENIED thrown. Without procfs
   * the name is checked again instead.
   */
  async confirmOpen(fh: FileHandle, path: string): Promise<void> {
    const real = await openedPath(fh);
    const ok =
      real === undefined
        ? await this.check(path, 'read').then(
            () => true,
            () => false,
          )
        : this.#resolved.some((root) => isWithin(real, root));
    if (ok) return;
    await fh.close().catch(() => undefined);
    throw new ReachError('PATH_DENIED', `server path is outside the transfer roots: ${path}`, {
      details: { path, opened: real, transfer_roots: this.#configured },
      recoveryHint: 'a directory under the transfer root was replaced by a link; retry',
    });
  }

  /**
   * Opens directory `dir` (OPEN_DIR: no final symlink followed) and confirms it (confirmOpen); the
   * caller closes it.
   */
  async openDir(dir: string): Promise<FileHandle> {
    const fh = await open(dir, OPEN_DIR);
    await this.confirmOpen(fh, dir);
    return fh;
  }
}
