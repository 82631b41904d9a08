import { type FileHandle, lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { ReachError } from '../errors.ts';
import { OPEN_DIR, OPEN_READ } from './open-flags.ts';
import { procFdPath } from './opened-path.ts';
import { drained, type TreeStats } from './tar-dir.ts';

/**
 * Streams the tree under `root` as a tar archive: relative names, modes, symlinks stored as links
 * (never followed, so nothing outside the tree is read). Files are read as they are packed, so
 * memory stays constant. A file that changes size while packed fails the archive.
 *
 * The walk is anchored: it starts from `rootFh`, the root as the caller opened (and confirmed) it
 * (openSource), and every directory below is opened without following a symlink and held open
 * while its entries are listed, stat'd and opened through its `/proc/self/fd/<fd>` path. A component swapped for a
 * symlink while the tree is sent therefore either fails the open (O_NOFOLLOW) or changes nothing:
 * what is read is what the held directories contain, never what a new link leads to. Without
 * procfs the walk goes by name (still O_NOFOLLOW at each step).
 */
export async function* tarDirectory(
  root: string,
  rootFh: FileHandle,
  stats: TreeStats,
): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  let stopped = false;
  const producing = walk(pack, { fh: rootFh, path: root }, '', stats, () => stopped).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );
  try {
    for await (const chunk of pack) yield chunk as Buffer;
  } finally {
    stopped = true;
    pack.destroy();
    await producing;
  }
}

/** A directory held open, and the name it was reached by (used only without procfs). */
interface HeldDir {
  fh: FileHandle;
  path: string;
}

async function walk(pack: tar.Pack, dir: HeldDir, rel: string, stats: TreeStats, stopped: () => boolean) {
  const base = procFdPath(dir.fh) ?? dir.path;
  const names = (await readdir(base)).sort();
  for (const name of names) {
    if (stopped()) throw new ReachError('CANCELLED', 'packing stopped');
    const relPath = rel === '' ? name : `${rel}/${name}`;
    const at = join(base, name);
    const seen = await lstat(at);
    if (seen.isSymbolicLink()) {
      const linkname = await readlink(at).catch((err: unknown) => changed(err, relPath));
      await addEntry(pack, {
        name: relPath,
        type: 'symlink',
        linkname,
        mode: seen.mode & 0o7777,
        mtime: seen.mtime,
      });
      stats.entries++;
    } else if (seen.isDirectory()) {
      const fh = await open(at, OPEN_DIR).catch((err: unknown) => changed(err, relPath));
      try {
        const st = await fh.stat();
        await addEntry(pack, {
          name: `${relPath}/`,
          type: 'directory',
          mode: st.mode & 0o7777,
          mtime: st.mtime,
        });
        stats.entries++;
        await walk(pack, { fh, path: join(dir.path, name) }, relPath, stats, stopped);
      } finally {
        await fh.close();
      }
    } else if (seen.isFile()) {
      const fh = await open(at, OPEN_READ).catch((err: unknown) => changed(err, relPath));
      try {
        const st = await fh.stat();
        if (!st.isFile()) changed(undefined, relPath);
        const header = {
          name: relPath,
          type: 'file' as const,
          size: st.size,
          mode: st.mode & 0o7777,
          mtime: st.mtime,
        };
        await addFile(pack, fh, header, stopped);
        stats.entries++;
      } finally {
        await fh.close();
      }
    } else {
      stats.skipped++;
    }
  }
}

/** An entry that is no longer what its lstat said (swapped for a link, or another type): refused. */
function changed(err: unknown, relPath: string): never {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err !== undefined && code !== 'ELOOP' && code !== 'ENOTDIR' && code !== 'EINVAL') throw err;
  throw new ReachError(
    'PATH_DENIED',
    `${relPath} in the tree changed type while it was sent (a symbolic link refused)`,
    {
      details: { entry: relPath },
      recoveryHint: 'retry; if it persists, something is replacing files in that directory',
    },
  );
}

type EntryHeader = Partial<tar.Header> & { name: string };

function addEntry(pack: tar.Pack, header: EntryHeader): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
}

/** Packs one file from its open descriptor: exactly `header.size` bytes, or the archive fails. */
async function addFile(
  pack: tar.Pack,
  fh: FileHandle,
  header: EntryHeader & { size: number },
  stopped: () => boolean,
): Promise<void> {
  let done!: Promise<void>;
  const entry = await new Promise<ReturnType<tar.Pack['entry']>>((resolve) => {
    done = new Promise<void>((ok, fail) => {
      resolve(pack.entry(header, (err) => (err ? fail(err) : ok())));
    });
  });
  done.catch(() => {});
  let read = 0;
  if (header.size > 0) {
    const input = fh.createReadStream({
      start: 0,
      end: header.size - 1,
      highWaterMark: 256 * 1024,
      autoClose: false,
    });
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        if (stopped()) throw new ReachError('CANCELLED', 'packing stopped');
        read += chunk.byteLength;
        if (!entry.write(chunk)) await drained(entry);
      }
    } finally {
      input.destroy();
    }
  }
  if (read !== header.size) {
    entry.destroy();
    throw new ReachError('TRANSFER_FAILED', `file changed while it was sent: ${header.name}`);
  }
  entry.end(undefined);
  await done;
}
