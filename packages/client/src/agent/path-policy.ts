import { lstat, readlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { ReachError } from '@reach/protocol';

/** Symlink hops followed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40;

/**
 * Resolves an absolute path the way the kernel would: every existing component is lstat'd and
 * symlinks are followed (also dangling ones, so a write through them cannot land elsewhere), `..`
 * is applied to the already-resolved prefix, and the components that do not exist are appended
 * as they are. The result has no symlinks in its existing part and no `.`/`..` at all.
 */
export async function resolvePath(path: string): Promise<string> {
  if (!isAbsolute(path)) throw new ReachError('INVALID_ARGUMENT', `path must be absolute: ${path}`);
  const pending = splitComponents(path).reverse();
  let current: string = sep;
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.pop() as string;
    if (part === '.') continue;
    if (part === '..') {
      current = dirname(current);
      continue;
    }
    const next = join(current, part);
    let isLink = false;
    try {
      isLink = (await lstat(next)).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Not there (or not traversable): the rest is taken literally; the operation itself will fail.
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES' && code !== 'ENAMETOOLONG') throw err;
    }
    if (!isLink) {
      current = next;
      continue;
    }
    hops += 1;
    if (hops > MAX_SYMLINK_HOPS) {
      throw new ReachError('PATH_DENIED', `too many symbolic links in ${path}`, { details: { path } });
    }
    const target = await readlink(next);
    if (isAbsolute(target)) current = sep;
    pending.push(...splitComponents(target).reverse());
  }
  return current;
}

function splitComponents(p: string): string[] {
  return p.split(sep).filter((c) => c.length > 0);
}

/** True when `path` is `root` or lies under it, compared by whole segments. */
export function isWithin(path: string, root: string): boolean {
  if (path === root || root === sep) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix);
}

/**
 * Which paths the agent may touch: the union of the client's own `allowed_paths` and the ones the
 * server pushes with `set_policy`; an empty union allows everything. Paths and roots are both
 * resolved before comparison, so `..` and symlinks cannot escape. (A symlink swapped in between the
 * check and the use is not covered: handlers act on the resolved path, which narrows that window.)
 */
export class PathPolicy {
  readonly #local: readonly string[];
  #server: readonly string[] = [];

  constructor(localAllowedPaths: readonly string[]) {
    this.#local = [...localAllowedPaths];
  }

  /** The client's own allowed paths (reported in hello). */
  get localPaths(): readonly string[] {
    return this.#local;
  }

  /** The union in force, as configured (unresolved). */
  get allowedPaths(): string[] {
    return [...new Set([...this.#local, ...this.#server])];
  }

  /** Replaces the server-side part of the union. */
  setServerPaths(paths: readonly string[]): void {
    this.#server = [...paths];
  }

  /** Resolves `path` and returns the resolved form, or throws PATH_DENIED when outside the union. */
  async check(path: string): Promise<string> {
    const resolved = await resolvePath(path);
    const roots = this.allowedPaths;
    if (roots.length === 0) return resolved;
    for (const root of roots) {
      if (isWithin(resolved, await resolvePath(root))) return resolved;
    }
    throw new ReachError('PATH_DENIED', `path is outside the allowed paths: ${path}`, {
      details: { path, resolved },
      recoveryHint: 'use a path under one of the allowed_paths of this client',
    });
  }
}
