import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CommandHistoryEntry } from '../operations/command-history.ts';
import { CommandHistoryStore, ftsQuery } from './command-history-store.ts';
import { openDatabase } from './database.ts';
import { MIGRATIONS } from './migrations/index.ts';

function entry(cmd: string, at: number, over: Partial<CommandHistoryEntry> = {}): CommandHistoryEntry {
  return {
    at_ms: at,
    caller: 'mcp:s1',
    source: 'mcp',
    client_uuid: 'u1',
    cmd,
    cwd: null,
    exit_code: 0,
    outcome: 'OK',
    duration_ms: 5,
    ...over,
  };
}

test('the user text becomes quoted prefix words: FTS5 operators are only words', () => {
  assert.equal(ftsQuery('  '), undefined);
  assert.equal(ftsQuery('git log'), '"git"* AND "log"*');
  assert.equal(ftsQuery('a"b OR'), '"a""b"* AND "OR"*');
});

test('full-text search, filters and keyset paging over recorded commands', () => {
  const db = openDatabase(':memory:', MIGRATIONS);
  const store = new CommandHistoryStore(db);
  store.record(entry('systemctl restart nginx', 1000));
  store.record(entry('git log --oneline', 2000, { exit_code: 1, caller: 'ui:abc', source: 'ui' }));
  store.record(entry('echo "hello world"', 3000, { client_uuid: 'u2' }));
  for (let i = 0; i < 5; i++) store.record(entry(`ls /tmp/${i}`, 4000));
  // A query sees what was recorded before it, batched or not.
  assert.deepEqual(
    store.query({ q: 'nginx', limit: 10 }).commands.map((c) => c.cmd),
    ['systemctl restart nginx'],
  );
  assert.deepEqual(
    store.query({ q: 'ngi', limit: 10 }).commands.map((c) => c.cmd),
    ['systemctl restart nginx'],
    'words match as prefixes',
  );
  assert.equal(store.query({ q: 'hello world', limit: 10 }).commands.length, 1);
  for (const hostile of ['"', 'NEAR(', 'a OR', '*', 'cmd:git', '^x', '(((']) {
    assert.doesNotThrow(() => store.query({ q: hostile, limit: 10 }), hostile);
  }
  assert.equal(store.query({ q: 'OR', limit: 10 }).commands.length, 0, 'OR is a word, not an operator');
  assert.deepEqual(
    store.query({ exit_code: 1, limit: 10 }).commands.map((c) => c.caller),
    ['ui:abc'],
  );
  assert.equal(store.query({ caller: 'ui:abc', limit: 10 }).commands.length, 1);
  assert.equal(store.query({ client: 'u2', limit: 10 }).commands.length, 1);
  assert.equal(store.query({ since: 2000, until: 3001, limit: 10 }).commands.length, 2);

  // 8 rows, 5 sharing one timestamp: pages of 3 never repeat or skip one.
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = store.query({ limit: 3, cursor });
    seen.push(...page.commands.map((c) => c.cmd));
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  assert.equal(seen.length, 8);
  assert.equal(new Set(seen).size, 8);
  assert.equal(seen.at(-1), 'systemctl restart nginx');
  assert.throws(() => store.query({ limit: 3, cursor: 'garbage' }), /cursor/);

  assert.equal(store.prune(2500), 2);
  assert.equal(store.query({ q: 'nginx', limit: 10 }).commands.length, 0, 'pruned rows leave the index');
  store.close();
  db.close();
});
