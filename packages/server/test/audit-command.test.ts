import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { auditCommand, parseSince } from '../src/audit/audit-command.ts';
import { AuditLog } from '../src/audit/audit-log.ts';
import { AuditStore } from '../src/db/audit-store.ts';
import { openDatabase } from '../src/db/database.ts';
import { MIGRATIONS } from '../src/db/migrations/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'reach-audit-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const HOUR = 3_600_000;

/** A data dir with a reach.db holding four entries, written the way the server writes them. */
const dataDir = join(dir, 'data');
{
  mkdirSync(dataDir);
  const db = openDatabase(join(dataDir, 'reach.db'), MIGRATIONS);
  db.prepare(
    `INSERT INTO clients (uuid, display_name, public_key, fingerprint, first_seen, client_id)
     VALUES ('11111111-2222-4333-8444-555555555555', 'web-01', 'ssh-ed25519 AAAA', 'SHA256:x', '2026-01-01', 'web-01')`,
  ).run();
  const audit = new AuditLog({ store: new AuditStore(db), now: () => NOW });
  const uuid = '11111111-2222-4333-8444-555555555555';
  audit.record({
    time: NOW - 48 * HOUR,
    caller: 'mcp:s1',
    client_uuid: uuid,
    tool: 'run_command',
    arguments: { cmd: 'uptime' },
    outcome: 'OK',
    duration_ms: 20,
  });
  audit.record({
    time: NOW - 2 * HOUR,
    caller: 'api-key:ops',
    client_uuid: uuid,
    tool: 'write_file',
    arguments: { path: '/etc/app.conf', content: 'db_password=swordfish' },
    outcome: 'OK',
    duration_ms: 5,
  });
  audit.record({
    time: NOW - HOUR,
    caller: 'mcp:s2',
    client_uuid: 'other-uuid',
    tool: 'ssh_session_open',
    arguments: { host: 'db', username: 'root', password: 'hunter2' },
    outcome: 'SSH_AUTH_FAILED',
    duration_ms: 300,
  });
  audit.record({
    time: NOW - 30 * 60_000,
    caller: 'web:admin',
    client_uuid: uuid,
    tool: 'read_file',
    arguments: { path: '/etc/shadow' },
    outcome: 'PATH_DENIED',
    duration_ms: 1,
  });
  db.close();
}

async function run(argv: string[], dd = dataDir): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await auditCommand(argv, { dataDir: dd, stdout, stderr, now: () => NOW });
  return { code, out, err };
}

describe('reach-server audit', () => {
  test('table output, newest first, secrets and bodies absent', async () => {
    const { code, out } = await run([]);
    assert.equal(code, 0);
    const lines = out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^TIME\s+CALLER\s+CLIENT\s+TOOL\s+OUTCOME\s+MS\s+ARGUMENTS$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s{2,}/)[3]),
      ['read_file', 'ssh_session_open', 'write_file', 'run_command'],
    );
    assert.match(
      lines[1] ?? '',
      /^2026-11-23T11:30:00Z\s+web:admin\s+web-01 \(11111111\)\s+read_file\s+PATH_DENIED\s+1\s+\{"path":"\/etc\/shadow"\}$/,
    );
    assert.ok(!out.includes('hunter2') && !out.includes('swordfish'));
    assert.match(out, /\[REDACTED\]/);
  });

  test('--json: one object per line; --client by name, --since relative and ISO, --tool, --limit', async () => {
    const json = await run(['--json']);
    const rows = json.out
      .trimEnd()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { tool: string; arguments: Record<string, unknown>; client_name: string | null },
      );
    assert.equal(rows.length, 4);

    assert.deepEqual(rows[2]?.arguments, {
      path: '/etc/app.conf',
      content: { size: 21, sha256: createHash('sha256').update('db_password=swordfish').digest('hex') },
    });
    assert.equal(rows[0]?.client_name, 'web-01');

    const tools = async (argv: string[]) =>
      (await run([...argv, '--json'])).out
        .trimEnd()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as { tool: string }).tool);
    assert.deepEqual(await tools(['--client', 'web-01']), ['read_file', 'write_file', 'run_command']);
    assert.deepEqual(await tools(['--client', 'other-uuid']), ['ssh_session_open']);
    assert.deepEqual(await tools(['--since', '24h']), ['read_file', 'ssh_session_open', 'write_file']);
    assert.deepEqual(await tools(['--since', '2026-11-23T11:00:00Z']), ['read_file', 'ssh_session_open']);
    assert.deepEqual(await tools(['--tool', 'write_file']), ['write_file']);
    assert.deepEqual(await tools(['-n', '1']), ['read_file']);
    assert.deepEqual(await tools(['--client', 'web-01', '--since', '90m']), ['read_file']);
  });

  test('no matches prints a line; usage errors exit 2; a missing database exits 1', async () => {
    assert.deepEqual(await run(['--client', 'nobody']), { code: 0, out: 'no audit entries\n', err: '' });
    for (const argv of [['--since', 'yesterday'], ['--limit', '0'], ['--bogus'], ['positional']]) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, /usage: reach-server audit/);
    }
    const missing = await run([], join(dir, 'nowhere'));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no database at/);
  });

  test('parseSince', () => {
    assert.equal(parseSince('30m', NOW), NOW - 30 * 60_000);
    assert.equal(parseSince('7d', NOW), NOW - 7 * 86_400_000);
    assert.equal(parseSince('2026-11-01', NOW), Date.UTC(2026, 10, 1));
    assert.equal(parseSince('soon', NOW), undefined);
  });
});
