import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isDead, waitFor } from '../../test/helpers/rpc-context.ts';
import { createLogger } from '../log/logger.ts';
import { GroupLedger, RUN_ID_ENV } from './group-ledger.ts';
import { listProcesses, readProcStat } from './proc-stat.ts';

const log = createLogger('silent');
const RUN_ID = '0123456789abcdef';

describe('GroupLedger.sweep (real processes, real /proc)', () => {
  let dir = '';
  const children: ChildProcess[] = [];
  const pids: number[] = [];
  /** A detached shell leading its own group, with the run id in its environment. */
  const group = (script: string, env: Record<string, string> = {}) => {
    const child = spawn('/bin/sh', ['-c', script], {
      detached: true,
      stdio: ['pipe', 'pipe', 'ignore'],
      env: { PATH: process.env.PATH, ...env },
    });
    children.push(child);
    return child;
  };
  const firstLine = (child: ChildProcess) =>
    new Promise<string>((resolve) => {
      let text = '';
      child.stdout?.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\n')) resolve(text);
      });
    });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-ledger-'));
  });
  after(async () => {
    for (const p of [...pids, ...children.map((c) => c.pid ?? 0)]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {}
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('a group whose leader is the recorded process is killed whole, then forgotten', async () => {
    const ledger = new GroupLedger({ dir: join(dir, 'a'), log });
    const child = group('sleep 30 & echo $!; wait');
    const member = Number(await firstLine(child));
    pids.push(member);
    const pgid = child.pid ?? 0;
    const stat = await readProcStat(pgid);
    assert.ok(stat);
    await ledger.record({ pgid, start: stat.start, run_id: RUN_ID });
    const report = await ledger.sweep();
    assert.deepEqual(report.groups, [pgid]);
    assert.ok(await waitFor(async () => (await isDead(pgid)) && (await isDead(member))));
    assert.deepEqual(await ledger.entries(), []);
  });

  test('a pid now naming another process (another start time) is never signalled', async () => {
    const ledger = new GroupLedger({ dir: join(dir, 'b'), log });
    const child = group('exec sleep 30');
    const pgid = child.pid ?? 0;
    await waitFor(async () => (await readProcStat(pgid)) !== undefined);
    const stat = await readProcStat(pgid);
    assert.ok(stat);
    // What the ledger holds for a pid the kernel has since given to this unrelated process.
    await ledger.record({ pgid, start: stat.start - 1, run_id: RUN_ID });
    const report = await ledger.sweep();
    assert.deepEqual(report, { groups: [], processes: [], stale: 1 });
    assert.equal(await isDead(pgid), false);
    assert.deepEqual(await ledger.entries(), []);
  });

  test('with the leader gone, only the members carrying the run id are killed', async () => {
    const ledger = new GroupLedger({ dir: join(dir, 'c'), log });
    // The leader starts two sleeps in its group, one stripped of the run id, prints them and exits
    // once its stdin closes.
    const child = group(`sleep 30 & a=$!; env -u ${RUN_ID_ENV} sleep 30 & echo "$a $!"; read x`, {
      [RUN_ID_ENV]: RUN_ID,
    });
    const pgid = child.pid ?? 0;
    const [ours, foreign] = (await firstLine(child)).trim().split(' ').map(Number);
    const stat = await readProcStat(pgid);
    assert.ok(stat && ours && foreign);
    pids.push(ours, foreign);
    child.stdin?.end();
    assert.ok(await waitFor(() => isDead(pgid)));
    const members = (await listProcesses()).filter((p) => p.pgrp === pgid).map((p) => p.pid);
    assert.deepEqual(members.sort(), [ours, foreign].sort());
    await ledger.record({ pgid, start: stat.start, run_id: RUN_ID });
    const report = await ledger.sweep();
    assert.deepEqual(report.processes, [ours]);
    assert.ok(await waitFor(() => isDead(ours)));
    assert.equal(await isDead(foreign), false);
  });

  test('a malformed or misnamed entry is removed, not trusted', async () => {
    const ledger = new GroupLedger({ dir: join(dir, 'd'), log });
    await ledger.record({ pgid: 12345, start: 1, run_id: RUN_ID });
    await writeFile(join(dir, 'd', '777.json'), '{"pgid": 1, "start": 0');
    await writeFile(join(dir, 'd', '778.json'), JSON.stringify({ pgid: 12345, start: 1, run_id: RUN_ID }));
    assert.deepEqual(
      (await ledger.entries()).map((e) => e.pgid),
      [12345],
    );
    assert.deepEqual(await readdir(join(dir, 'd')), ['12345.json']);
  });
});
