import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { test } from 'node:test';
import { StatementCache } from './statement-cache.ts';

test('a statement is compiled once per SQL text, and the least recently used goes past the bound', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
  const cache = new StatementCache(db, 2);
  const insert = cache.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  assert.equal(cache.prepare('INSERT INTO t (k, v) VALUES (?, ?)'), insert);
  insert.run(1, 'a');
  cache.prepare('INSERT INTO t (k, v) VALUES (?, ?)').run(2, 'b');
  const select = cache.prepare('SELECT v FROM t WHERE k = ?');
  assert.deepEqual({ ...select.get(2) }, { v: 'b' });
  assert.equal(cache.size, 2);
  const count = cache.prepare('SELECT COUNT(*) AS n FROM t');
  assert.equal(cache.size, 2);
  assert.equal(cache.prepare('SELECT v FROM t WHERE k = ?'), select);
  // The insert was the least recently used: compiled anew, and still correct; the count goes next.
  const again = cache.prepare('INSERT INTO t (k, v) VALUES (?, ?)');
  assert.notEqual(again, insert);
  again.run(3, 'c');
  assert.equal(cache.prepare('SELECT v FROM t WHERE k = ?'), select, 'used after the count: kept');
  assert.notEqual(cache.prepare('SELECT COUNT(*) AS n FROM t'), count);
  assert.deepEqual({ ...cache.prepare('SELECT COUNT(*) AS n FROM t').get() }, { n: 3 });
  db.close();
});

test('a statement compiled before a schema change still runs after it', () => {
  const db = new DatabaseSync(':memory:');
  db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY)');
  const cache = new StatementCache(db);
  cache.prepare('INSERT INTO t (k) VALUES (?)').run(1);
  db.exec('ALTER TABLE t ADD COLUMN v TEXT');
  db.exec('CREATE TABLE u (x)');
  cache.prepare('INSERT INTO t (k) VALUES (?)').run(2);
  assert.deepEqual({ ...db.prepare('SELECT COUNT(*) AS n FROM t').get() }, { n: 2 });
  db.close();
});
