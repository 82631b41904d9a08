import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase } from './database.ts';
import { MIGRATIONS } from './migrations/index.ts';

describe('openDatabase', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reach-db-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mode = (p: string): number => statSync(p).mode & 0o777;

  test('a new store and its WAL files are owner-only', () => {
    const path = join(dir, 'new.db');
    const db = openDatabase(path, MIGRATIONS);
    db.exec('CREATE TABLE t (x)');
    db.exec('INSERT INTO t VALUES (1)');
    assert.equal(mode(path), 0o600);
    assert.equal(mode(`${path}-wal`), 0o600);
    db.close();
  });

  test('an existing world-readable store is tightened to 0600', () => {
    const path = join(dir, 'old.db');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    openDatabase(path, MIGRATIONS).close();
    assert.equal(mode(path), 0o600);
  });
});
