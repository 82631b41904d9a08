import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ReachError } from '@reach/protocol';
import { AuditStore } from '../db/audit-store.ts';
import { openDatabase } from '../db/database.ts';
import { MIGRATIONS } from '../db/migrations/index.ts';
import type { Timers } from '../timers.ts';
import { AuditLog, auditOutcome } from './audit-log.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 5, 1);

function setup(now = { t: T0 }) {
  const db = openDatabase(':memory:', MIGRATIONS);
  const timers: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const fakeTimers: Timers = {
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimeout: (h) => {
      (h as { cleared: boolean }).cleared = true;
    },
  };
  const audit = new AuditLog({ store: new AuditStore(db), now: () => now.t, timers: fakeTimers });
  return { db, audit, timers, now };
}

describe('AuditLog', () => {
  test('record redacts; query returns newest first with parsed arguments', () => {
    const { audit, now } = setup();
    audit.record({
      caller: 'mcp:s1',
      client_uuid: 'u1',
      tool: 'ssh_session_open',
      arguments: { host: 'h', password: 'hunter2' },
      outcome: 'OK',
      duration_ms: 12.6,
    });
    now.t += 1000;
    audit.record({
      caller: 'api-key:k1',
      client_uuid: 'u1',
      tool: 'write_file',
      arguments: { path: '/a', content: 'body' },
      outcome: 'PATH_DENIED',
      duration_ms: 3,
    });
    const rows = audit.query();
    assert.deepEqual(
      rows.map((r) => [r.tool, r.outcome, r.time, r.duration_ms]),
      [
        ['write_file', 'PATH_DENIED', new Date(T0 + 1000).toISOString(), 3],
        ['ssh_session_open', 'OK', new Date(T0).toISOString(), 13],
      ],
    );
    assert.deepEqual(rows[1]?.arguments, { host: 'h', password: '[REDACTED]' });
    assert.equal((rows[0]!.arguments as { content: { size: number } }).content.size, 4);
  });

  test('filters: client (uuid or name), since, tool, caller, limit', () => {
    const { db, audit, now } = setup();
    db.prepare(
      `INSERT INTO clients (uuid, display_name, public_key, fingerprint, first_seen, client_id)
       VALUES ('u2', 'Build Box', 'ssh-ed25519 AAAA', 'SHA256:x', '2026-01-01', 'build-01')`,
    ).run();
    for (let i = 0; i < 10; i++) {
      now.t = T0 + i * 1000;
      audit.record({
        caller: i % 2 === 0 ? 'mcp:a' : 'web:admin',
        client_uuid: i < 5 ? 'u1' : 'u2',
        tool: i % 3 === 0 ? 'run_command' : 'read_file',
        arguments: { i },
        outcome: 'OK',
        duration_ms: i,
      });
    }
    const ids = (q: Parameters<typeof audit.query>[0]) =>
      audit.query(q).map((r) => (r.arguments as { i: number }).i);
    assert.deepEqual(ids({ client: 'u1' }), [4, 3, 2, 1, 0]);
    assert.deepEqual(ids({ client: 'build box' }), [9, 8, 7, 6, 5]);
    assert.deepEqual(ids({ client: 'BUILD-01', limit: 2 }), [9, 8]);
    assert.equal(audit.query({ client: 'u2' })[0]?.client_name, 'Build Box');
    assert.deepEqual(ids({ since: T0 + 7000 }), [9, 8, 7]);
    assert.deepEqual(ids({ tool: 'run_command' }), [9, 6, 3, 0]);
    assert.deepEqual(ids({ caller: 'web:admin', client: 'u1' }), [3, 1]);
    assert.deepEqual(ids({ client: 'nobody' }), []);
  });

  test('prune deletes past the retention; start() prunes now and then daily; close stops it', () => {
    const { audit, timers, now } = setup();
    for (const age of [100, 91, 89, 1]) {
      audit.record({
        time: T0 - age * DAY,
        caller: 'c',
        tool: 't',
        arguments: { age },
        outcome: 'OK',
        duration_ms: 0,
      });
    }
    audit.start();
    assert.deepEqual(
      audit.query().map((r) => (r.arguments as { age: number }).age),
      [1, 89],
    );
    assert.equal(timers.length, 1);
    assert.equal(timers[0]?.ms, DAY);
    now.t += 2 * DAY;
    timers[0]?.fn();
    assert.deepEqual(
      audit.query().map((r) => (r.arguments as { age: number }).age),
      [1],
    );
    assert.equal(audit.prune(0), 1);
    audit.close();
    assert.equal(timers[1]?.cleared, true);
  });

  test('record never throws: a failed write goes to onError', () => {
    const db = openDatabase(':memory:', MIGRATIONS);
    const errors: unknown[] = [];
    const audit = new AuditLog({ store: new AuditStore(db), onError: (e) => errors.push(e) });
    db.close();
    assert.equal(
      audit.record({ caller: 'c', tool: 't', arguments: {}, outcome: 'OK', duration_ms: 1 }),
      undefined,
    );
    assert.equal(errors.length, 1);
  });

  test('page: keyset cursor walks every row once, newest first, ties by id, stable under inserts', () => {
    const { audit, now } = setup();
    // 25 rows over 10 distinct times: most pages end inside a run of equal times.
    for (let i = 0; i < 25; i++) {
      if (i % 3 === 0) now.t += 1000;
      audit.record({ caller: 'c', tool: 't', arguments: { i }, outcome: 'OK', duration_ms: 1 });
    }
    const seen: number[] = [];
    let page = audit.page({ limit: 10 });
    seen.push(...page.entries.map((e) => (e.arguments as { i: number }).i));
    // Rows recorded while a caller pages are newer: they never shift what the cursor points at.
    now.t += 1000;
    audit.record({ caller: 'c', tool: 't', arguments: { i: 99 }, outcome: 'OK', duration_ms: 1 });
    while (page.next_cursor !== null) {
      page = audit.page({ limit: 10, cursor: page.next_cursor });
      seen.push(...page.entries.map((e) => (e.arguments as { i: number }).i));
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 25 }, (_, k) => 24 - k),
    );
    // An exact multiple of the limit ends with null, not with an empty page after it.
    const full = audit.page({ limit: 26 });
    assert.equal(full.entries.length, 26);
    assert.equal(full.next_cursor, null);
    assert.throws(
      () => audit.page({ cursor: 'not-a-cursor' }),
      (e: unknown) => e instanceof ReachError && e.code === 'INVALID_ARGUMENT',
    );
  });

  test('auditOutcome', () => {
    assert.equal(auditOutcome(), 'OK');
    assert.equal(auditOutcome(new ReachError('PATH_DENIED', 'no')), 'PATH_DENIED');
    assert.equal(auditOutcome(new Error('boom')), 'INTERNAL_ERROR');
  });
});
