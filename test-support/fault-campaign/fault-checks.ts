/** What is looked at after each fault: file content, litter, the server's SQLite file. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** SHA-256 of a file, or `absent` when there is none. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw err;
  }
  return hash.digest('hex');
}

export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** The temp files a killed writer can leave: transfer partials and `write_file`'s `.<name>.<hex>.tmp`. */
const LITTER = /\.reach-partial-|^\..*\.tmp$/;

/**
 * Names in `dir` that should not be there: anything but `expected`, hidden or not. A resumable
 * partial (`-<32 hex>`, README "No hidden litter") is litter too: the campaign never asks for
 * `resume: true`, so none may be made.
 */
export async function strayFiles(dir: string, expected: readonly string[]): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => !expected.includes(n)).map((n) => (LITTER.test(n) ? `${n} (temp)` : n));
}

/**
 * `PRAGMA integrity_check` of the server's database. With `live` the file is opened read-only
 * beside the running server (WAL readers see one consistent snapshot); otherwise the file and its
 * `-wal` are copied first, so checking a crashed server's files does not checkpoint them before
 * the restarted server sees them.
 */
export async function integrityCheck(dbFile: string, live: boolean): Promise<string> {
  if (live) return runIntegrity(dbFile, true);
  const dir = await mkdtemp(join(tmpdir(), 'reach-fault-db-'));
  try {
    await copyFile(dbFile, join(dir, 'reach.db'));
    await copyFile(`${dbFile}-wal`, join(dir, 'reach.db-wal')).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    return runIntegrity(join(dir, 'reach.db'), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runIntegrity(file: string, readOnly: boolean): string {
  const db = new DatabaseSync(file, { readOnly });
  try {
    const rows = db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>;
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}
