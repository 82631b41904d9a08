import { type FileHandle, lstat, readlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { ReachError } from '@reach/protocol';
import { openedPath } from '@reach/protocol/node';

/** Symlink hops followed while resolving one path (Linux's MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40;

/** The filesystem calls `resolvePath` makes; a test wraps them to run a race deterministically. */
export interface ResolveFs {
  lstat(path: string): Promise<{ isSymbolicLink(): boolean }>;
  readlink(path: string): Promise<string>;
}

const NODE_FS: ResolveFs = { lstat, readlink };

/**
 * Resolves an absolute path the way the kernel would: every existing component is lstat'd and
 * symlinks are followed (also dangling ones, so a write through them cannot land elsewhere), `..`
 * is applied to the already-resolved prefix, and the components that do not exist are appended
 * as they are. The result has no symlinks in its existing part and no `.`/`..` at all.
 *
 * A component swapped while it is being resolved (a symlink that is gone or is no longer one when
 * it is read: readlink's ENOENT/EINVAL; a loop that appeared: ELOOP) is PATH_DENIED, not an
 * internal error: the path did not hold still long enough to be judged.
 */
export async function resolvePath(path: string, fs: ResolveFs = NODE_FS): Promise<string> {
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
      isLink = (await fs.lstat(next)).isSymbolicLink();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw changed(path);
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
    let target: string;
    try {
      target = await fs.readlink(next);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // lstat saw a symlink; now it is gone, no longer a symlink, or under a swapped parent.
      if (code === 'EINVAL' || code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP')
        throw changed(path);
      throw err;
    }
    if (isAbsolute(target)) current = sep;
    pending.push(...splitComponents(target).reverse());
  }
  return current;
}

function changed(path: string): ReachError {
  return new ReachError('PATH_DENIED', `path changed while it was being checked: ${path}`, {
    details: { path },
    recoveryHint: 'retry once nothing is replacing components of the path',
  });
}

function splitComponents(p: string): string[] {
  return p.split(sep).filter((c) => c.length > 0);
}

/** How paths are resolved and compared (platform/platform.ts has the Windows rules). */
export interface PathRules {
  resolve(path: string): Promise<string>;
  isWithin(path: string, root: string): boolean;
  /**
   * False where `/proc/self/fd` can never name this process's descriptors (Windows: under wine,
   * `Z:\proc` is the Linux host's procfs of wine's own process): then confirmOpen checks the name.
   */
  descriptorPaths?: boolean;
}

const POSIX_RULES: PathRules = { resolve: (p) => resolvePath(p), isWithin };

/** True when `path` is `root` or lies under it, compared by whole segments. */
export function isWithin(path: string, root: string): boolean {
  if (path === root || root === sep) return true;
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix);
}

/**
 * Which paths the agent may touch. The client's own `allowed_paths` (its config, set by whoever
 * installed it) is the ceiling; the list the server pushes with `set_policy` can only narrow it:
 * a path is allowed when it lies under one of the client's roots *and* under one of the server's,
 * i.e. inside the intersection of the two sets of prefixes, never their union (an API-key holder
 * must not widen a client its owner restricted). An empty list on either side sets no bound from
 * that side, so a client whose config names no paths keeps what the server sends, and both empty
 * allow everything; two lists that do not overlap allow nothing. Paths and roots are both
 * resolved before comparison, so `..` and symlinks cannot escape.
 *
 * A path is checked by name and then used by name, so a local user who can write under an allowed
 * root could swap a component for a symlink in between. Covered, on Linux: the files opened for
 * their bytes (read_file's file, write_file's temp file, list_files' directory, a file transfer's
 * source and temp file, an SSH session's key file) and run_command's cwd are confirmed after the
 * open by the kernel's path of the descriptor (`confirmOpen`: refused and closed when outside),
 * then used only through that descriptor (list_files reads through /proc/self/fd; a command's
 * shell chdirs through /proc/<pid>/fd/<fd> while this process still holds it open). The handlers
 * open the last component with O_NOFOLLOW and temp files with O_EXCL, so a symlink put there fails
 * the open; a transfer's source may follow one, and the confirm judges where it led. write_file
 * and a received transfer open and confirm the destination's directory first and create, hash
 * (a resumed partial), fill (a tree is extracted through its temp directory, itself held open),
 * rename or link, and remove their temp file or directory in that open directory (through
 * /proc/self/fd), so a swap after that changes nothing; a received transfer also sweeps stale
 * partials there. Without procfs the confirm falls back to checking the name again (and a command
 * starts in the name), which narrows the window but does not close it.
 *
 * Not covered, because it still happens by name: the open itself, before the confirm (opening a
 * device node through a swapped component can have side effects; O_NONBLOCK keeps a FIFO from
 * hanging); read_file's stat by name, which picks the error for a non-file or an oversized file
 * before the open (the read itself is bounded and type-checked on the descriptor); and all of it
 * without procfs. Also anchored: write_file's kept mode is read in the confirmed directory, not
 * following a symlink (so a link swapped in cannot lend its target's setuid bits); missing
 * parents (write_file, received transfers) are made one at a time inside the directory above, held
 * open (makeDirs); a transfer's source is opened and confirmed before its size, mode and mtime are
 * read from the descriptor and sent (openSource); a sent directory is walked from that open root
 * through held-open directories (tar-directory.ts), so a component swapped for a symlink mid-walk
 * is not followed. What a command touches once it runs was never
 * confined: only where it starts is.
 */
export class PathPolicy {
  readonly #local: readonly string[];
  #server: readonly string[] = [];
  readonly #rules: PathRules;

  /** `rules`: the OS's path resolution and comparison (Windows: drive letters, UNC, any case). */
  constructor(localAllowedPaths: readonly string[], rules: PathRules = POSIX_RULES) {
    this.#local = [...localAllowedPaths];
    this.#rules = rules;
  }

  /** The client's own allowed paths (reported in hello): the ceiling. */
  get localPaths(): readonly string[] {
    return this.#local;
  }

  /** Whether neither side bounds anything (both lists empty): every path is allowed. */
  get unrestricted(): boolean {
    return this.#local.length === 0 && this.#server.length === 0;
  }

  /** Replaces the server's list, which narrows the client's own (see the class comment). */
  setServerPaths(paths: readonly string[]): void {
    this.#server = [...paths];
  }

  /**
   * The roots in force, resolved: the intersection of the two lists by prefix (for each pair, the
   * deeper root when one lies under the other), or the one list that is not empty. Empty means
   * every path when `unrestricted`, and no path otherwise.
   */
  async effectivePaths(): Promise<string[]> {
    const rules = this.#rules;
    const local = await resolvedRoots(this.#local, rules);
    const server = await resolvedRoots(this.#server, rules);
    if (this.#server.length === 0) return [...new Set(local)];
    if (this.#local.length === 0) return [...new Set(server)];
    const out = new Set<string>();
    for (const l of local) {
      for (const s of server) {
        if (rules.isWithin(s, l)) out.add(s);
        else if (rules.isWithin(l, s)) out.add(l);
      }
    }
    return [...out];
  }

  /** Resolves `path` and returns the resolved form, or throws PATH_DENIED when it is not allowed. */
  async check(path: string): Promise<string> {
    const resolved = await this.#rules.resolve(path);
    if (await this.#allows(resolved)) return resolved;
    throw denied(path, resolved);
  }

  /**
   * Confirms that `fh`, opened by the name `path` (a path `check` returned), is allowed, by the
   * kernel's path of the open file rather than by the name, so a component swapped for a symlink
   * between `check` and the open is caught. On refusal (PATH_DENIED) or any other failure the
   * handle is closed before the error is thrown; on success the caller still owns it.
   */
  async confirmOpen(fh: FileHandle, path: string): Promise<void> {
    if (this.unrestricted) return;
    try {
      const real = this.#rules.descriptorPaths === false ? undefined : await openedPath(fh);
      if (real === undefined) {
        // No procfs: nothing names the descriptor's file, so only the name can be checked again.
        await this.check(path);
        return;
      }
      if (!(await this.#allows(real))) throw denied(path, real);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw err;
    }
  }

  /** Whether a resolved path lies under a (resolved) root of each list that is not empty. */
  async #allows(resolved: string): Promise<boolean> {
    const rules = this.#rules;
    return (
      (await withinAny(resolved, this.#local, rules)) && (await withinAny(resolved, this.#server, rules))
    );
  }
}

/** Roots resolved now; one that cannot be (a symlink loop) is left out, since it admits nothing. */
async function resolvedRoots(roots: readonly string[], rules: PathRules): Promise<string[]> {
  const out: string[] = [];
  for (const root of roots) {
    const resolved = await rules.resolve(root).catch(() => undefined);
    if (resolved !== undefined) out.push(resolved);
  }
  return out;
}

/** Whether `resolved` lies under one of `roots` (resolved now); an empty list bounds nothing. */
async function withinAny(resolved: string, roots: readonly string[], rules: PathRules): Promise<boolean> {
  if (roots.length === 0) return true;
  for (const root of await resolvedRoots(roots, rules)) {
    if (rules.isWithin(resolved, root)) return true;
  }
  return false;
}

function denied(path: string, resolved: string): ReachError {
  return new ReachError('PATH_DENIED', `path is outside the allowed paths: ${path}`, {
    details: { path, resolved },
    recoveryHint: 'use a path under one of the allowed_paths of this client',
  });
}
