import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ListFilesParams, type ListFilesResult, ReachError } from '@reach/protocol';
import { fsError, procFdPath } from '@reach/protocol/node';
import { openConfirmedDir } from '../open-confirmed.ts';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';

export interface ListFilesDeps {
  policy: PathPolicy;
}

type Entry = ListFilesResult['entries'][number];
type Stats = Awaited<ReturnType<typeof lstat>>;

/** lstat calls in flight at once while listing a directory. */
const STAT_BATCH = 64;

/** `list_files`: one entry per name, from lstat (a symlink is reported as one, not followed). */
export function listFilesHandler(deps: ListFilesDeps) {
  return defineHandler(ListFilesParams, async ({ path }): Promise<ListFilesResult> => {
    const resolved = await deps.policy.check(path);
    return listChecked(deps.policy, path, resolved);
  });
}

/**
 * The part of `list_files` after the check: `resolved` is what `policy.check(path)` returned. The
 * directory is opened and confirmed inside the policy by its descriptor (openConfirmed); Node's
 * Dir exposes no descriptor and there is no readdir/lstat by descriptor, so the listing goes
 * through `/proc/self/fd/<fd>`, which the kernel resolves to the open directory itself whatever
 * its name points to by now. Without procfs it goes by name, after the confirm's re-check.
 */
export async function listChecked(
  policy: PathPolicy,
  path: string,
  resolved: string,
): Promise<ListFilesResult> {
  try {
    const st = await stat(resolved);
    if (!st.isDirectory()) {
      throw new ReachError('INVALID_ARGUMENT', `not a directory: ${path}`, {
        details: { path },
        recoveryHint: 'use read_file',
      });
    }
    const fh = await openConfirmedDir(policy, resolved);
    try {
      const at = procFdPath(fh) ?? resolved;
      const names = (await readdir(at)).sort();
      const entries: Entry[] = [];
      for (let i = 0; i < names.length; i += STAT_BATCH) {
        const batch = names.slice(i, i + STAT_BATCH);
        const stats = await Promise.all(batch.map((n) => lstat(join(at, n)).catch(() => null)));
        batch.forEach((name, j) => {
          const s = stats[j];
          // An entry removed between readdir and lstat is skipped.
          if (s) entries.push(toEntry(name, s));
        });
      }
      return { path, entries };
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fsError(err, path);
  }
}

function toEntry(name: string, s: Stats): Entry {
  const type = s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : 'other';
  return { name, type, size: Number(s.size), mode: modeString(Number(s.mode)), mtime: s.mtime.toISOString() };
}

/** `ls -l` style mode text, e.g. "drwxr-xr-x", "-rwsr-x--T", "lrwxrwxrwx". */
export function modeString(mode: number): string {
  const fmt = mode & 0o170000;
  const typeChar =
    fmt === 0o040000
      ? 'd'
      : fmt === 0o120000
        ? 'l'
        : fmt === 0o020000
          ? 'c'
          : fmt === 0o060000
            ? 'b'
            : fmt === 0o010000
              ? 'p'
              : fmt === 0o140000
                ? 's'
                : '-';
  const triplet = (bits: number, special: boolean, specialChar: string) => {
    const x = bits & 1;
    const exec = special ? (x ? specialChar : specialChar.toUpperCase()) : x ? 'x' : '-';
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${exec}`;
  };
  return (
    typeChar +
    triplet((mode >> 6) & 7, (mode & 0o4000) !== 0, 's') +
    triplet((mode >> 3) & 7, (mode & 0o2000) !== 0, 's') +
    triplet(mode & 7, (mode & 0o1000) !== 0, 't')
  );
}
