import { chmod, lstat, lutimes, mkdir, open, symlink, utimes } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import tar from 'tar-stream';
import { ReachError } from '../errors.ts';

/** What a packed or extracted tree held. */
export interface TreeStats {
  /** Directories, files and symlinks (the root not counted). */
  entries: number;
  /** Entries of other types (devices, fifos, sockets, hard links), left out. */
  skipped: number;
}

type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

/** The event surface `drained` needs; node streams and streamx streams both have it. */
interface DrainEmitter {
  on(event: 'drain' | 'close' | 'error', listener: (arg?: unknown) => void): unknown;
  off(event: 'drain' | 'close' | 'error', listener: (arg?: unknown) => void): unknown;
}

/** Resolves on `drain`; rejects when the stream closes or fails first. */
export function drained(emitter: object): Promise<void> {
  const stream = emitter as DrainEmitter;
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onError);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onClose = (): void => {
      cleanup();
      reject(new ReachError('CANCELLED', 'stream closed'));
    };
    const onError = (err?: unknown): void => {
      cleanup();
      reject(err);
    };
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onError);
  });
}

/**
 * Checks a tar entry name and returns it as relative path segments. Absolute names, drive
 * letters, backslashes, NUL and `..` segments are refused: an archive cannot write outside the
 * directory it is extracted into.
 */
export function safeEntryPath(name: string): string[] {
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\0') || name.includes('\\')) {
    throw new ReachError('PATH_DENIED', `tar entry has an unsafe name: ${JSON.stringify(name)}`);
  }
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new ReachError('PATH_DENIED', `tar entry escapes the directory: ${JSON.stringify(name)}`);
  }
  return parts;
}

/**
 * A sink that extracts a tar stream into `dir` (which must exist and be empty). Regular files,
 * directories and symlinks are created with their modes and mtimes; symlinks last, after checking that no
 * ancestor of theirs is a symlink, so nothing is ever written through a link. `write` applies
 * backpressure; `finish` ends the archive and waits for the last entry.
 */
export class TarExtractor {
  readonly #dir: string;
  readonly #extract: tar.Extract;
  readonly #consuming: Promise<void>;
  readonly #dirModes: Array<[string, number, Date | undefined]> = [];
  readonly #symlinks: Array<[string, string, Date | undefined]> = [];
  readonly stats: TreeStats = { entries: 0, skipped: 0 };

  constructor(dir: string) {
    this.#dir = dir;
    this.#extract = tar.extract();
    this.#consuming = this.#consume();
    this.#consuming.catch(() => {});
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.#extract.destroyed) await this.#consuming;
    if (!this.#extract.write(chunk)) {
      await Promise.race([drained(this.#extract), this.#consuming.then(() => undefined)]);
    }
  }

  async finish(): Promise<TreeStats> {
    this.#extract.end(undefined);
    await this.#consuming;
    for (const [target, linkname, mtime] of this.#symlinks) {
      await this.#checkAncestors(target);
      await symlink(linkname, target);
      if (mtime) await lutimes(target, mtime, mtime);
    }
    // Deepest first, so a read-only directory is locked only after everything inside it exists;
    // times last, since creating entries changes a directory's mtime.
    for (const [path, mode, mtime] of this.#dirModes.reverse()) {
      await chmod(path, mode);
      if (mtime) await utimes(path, mtime, mtime);
    }
    return this.stats;
  }

  abort(): void {
    this.#extract.destroy();
  }

  /**
   * Resolves once no entry is being written any more (after `abort`, the one in progress ends
   * first). A caller that extracts through a descriptor's /proc link waits for this before
   * closing the descriptor, so no late write follows a reused fd number elsewhere.
   */
  async settled(): Promise<void> {
    await this.#consuming.catch(() => undefined);
  }

  async #consume(): Promise<void> {
    try {
      for await (const entry of this.#extract) {
        await this.#entry(entry);
      }
    } catch (err) {
      this.#extract.destroy();
      throw err;
    }
  }

  async #entry(entry: TarEntry): Promise<void> {
    const { header } = entry;
    const parts = safeEntryPath(header.name);
    const mode = (header.mode ?? 0o644) & 0o7777;
    if (parts.length === 0) {
      entry.resume();
      return;
    }
    const target = join(this.#dir, ...parts);
    switch (header.type) {
      case 'directory':
        await mkdir(target, { recursive: true, mode: 0o700 });
        this.#dirModes.push([target, mode, header.mtime]);
        this.stats.entries++;
        entry.resume();
        return;
      case 'file':
      case 'contiguous-file': {
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        const fh = await open(target, 'wx', 0o600);
        try {
          for await (const chunk of entry) await fh.write(chunk as Buffer);
          await fh.chmod(mode);
          if (header.mtime) await fh.utimes(header.mtime, header.mtime);
        } finally {
          await fh.close();
        }
        this.stats.entries++;
        return;
      }
      case 'symlink':
        if (!header.linkname)
          throw new ReachError('TRANSFER_FAILED', `symlink without target: ${header.name}`);
        this.#symlinks.push([target, header.linkname, header.mtime]);
        this.stats.entries++;
        entry.resume();
        return;
      default:
        this.stats.skipped++;
        entry.resume();
    }
  }

  async #checkAncestors(target: string): Promise<void> {
    const rel = target.slice(this.#dir.length + 1).split(sep);
    let current = this.#dir;
    for (const part of rel.slice(0, -1)) {
      current = join(current, part);
      const st = await lstat(current).catch(() => undefined);
      if (st?.isSymbolicLink()) {
        throw new ReachError('PATH_DENIED', `tar entry would be written through a symlink: ${target}`);
      }
    }
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  }
}
