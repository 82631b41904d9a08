import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../log/logger.ts';
import { listProcesses } from '../spawner/proc-stat.ts';
import { poolableShell, ShellPool } from '../spawner/shell-pool.ts';
import { JobManager } from './job-manager.ts';
import { groupMembers } from './job-signals.ts';

const env = { PATH: process.env.PATH };

// Twice: plain spawns, and pooled shells that are the job's wrapper (spawner/shell-pool.ts).
for (const pooled of poolableShell('/bin/sh') ? [false, true] : [false])
  describe(`JobManager (real processes, real /proc; ${pooled ? 'pooled shells' : 'plain spawn'})`, () => {
    let dir = '';
    const pool = pooled
      ? new ShellPool({ env, log: createLogger('silent'), size: 2, refillQuietMs: 0 })
      : undefined;
    before(async () => {
      pool?.start();
      dir = await mkdtemp(join(tmpdir(), 'reach-jobs-'));
    });
    after(async () => {
      pool?.close();
      await rm(dir, { recursive: true, force: true });
    });
    const manager = (extra = {}) => new JobManager({ dir, pollMs: 50, cancelGraceMs: 200, pool, ...extra });
    const launch = (m: JobManager, cmd: string) => m.startJob({ cmd, cwd: dir, env, caller: 't' });
    /** A started manager with one job already launched: the setup most tests share. */
    const started = async (cmd: string, extra = {}) => {
      const m = manager(extra);
      await m.start();
      return { m, job: await launch(m, cmd) };
    };

    test('wait returns the exit code; read pages 5 MiB exactly', async () => {
      const { m, job } = await started('head -c 5242880 /dev/urandom | tee /dev/stderr | sha256sum; exit 3');
      const done = await m.wait(job.id, 20_000);
      assert.equal(done?.status, 'exited');
      assert.equal(done?.exit_code, 3);
      const h = createHash('sha256');
      let offset = 0;
      for (;;) {
        const page = await m.read(job.id, 'stderr', offset, 700_001);
        assert.ok(page);
        h.update(page.data);
        offset += page.data.length;
        if (page.eof) break;
      }
      assert.equal(offset, 5 * 1024 * 1024);
      const out = await m.read(job.id, 'stdout', 0, 1000);
      assert.equal(out?.data.toString().split(' ')[0], h.digest('hex'));
      m.close();
    });

    test('a new manager finds a running job again, and marks a vanished one lost', async () => {
      const { m: first, job } = await started('echo hi; sleep 30');
      // The kill below must come after the echo, however slowly the shell starts on a loaded machine.
      while ((await first.read(job.id, 'stdout', 0, 10))?.size !== 3)
        await new Promise((r) => setTimeout(r, 20));
      first.close();
      const second = manager();
      await second.start();
      assert.equal(second.get(job.id)?.status, 'running');
      second.close();
      process.kill(-job.pgid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      const third = manager();
      await third.start();
      const lost = third.get(job.id);
      assert.equal(lost?.status, 'lost');
      assert.equal((await third.read(job.id, 'stdout', 0, 100))?.data.toString(), 'hi\n');
      third.close();
    });

    test('cancel stops the whole group, a TERM-ignoring child included', async () => {
      const { m, job } = await started('sh -c \'trap "" INT TERM; sleep 30\' & sleep 30');
      await new Promise((r) => setTimeout(r, 200));
      assert.ok((await listProcesses()).filter((p) => p.pgrp === job.pgid).length >= 2);
      const r = await m.cancel(job.id);
      assert.equal(r?.stopped, true);
      assert.deepEqual(r?.pids, []);
      assert.equal(m.get(job.id)?.status, 'cancelled');
      m.close();
    });

    test('the per-job cap keeps the first bytes and is reported', async () => {
      const { m, job } = await started('head -c 5000 /dev/zero', { maxJobBytes: 1000 });
      const done = await m.wait(job.id, 10_000);
      assert.equal(done?.cap_hit, true);
      assert.equal((await m.read(job.id, 'stdout', 0, 10_000))?.size, 1000);
      m.close();
    });

    test('past the per-client cap the oldest finished jobs are pruned, running ones kept', async () => {
      const sub = join(dir, 'cap');
      const m = new JobManager({ dir: sub, pollMs: 50, maxTotalBytes: 3000, pool });
      await m.start();
      const old = await launch(m, 'head -c 2000 /dev/zero');
      await m.wait(old.id, 10_000);
      const running = await launch(m, 'head -c 2000 /dev/zero; sleep 30');
      // Its 2000 bytes must be on disk before the next start counts them, however loaded the machine.
      while ((await m.read(running.id, 'stdout', 0, 1))?.size !== 2000)
        await new Promise((r) => setTimeout(r, 20));
      const fresh = await launch(m, 'true');
      assert.equal(m.get(old.id), undefined);
      assert.equal(m.get(running.id)?.status, 'running');
      assert.ok(m.get(fresh.id));
      await m.cancel(running.id);
      m.close();
    });

    test('a timeout stops the group and the job ends timed_out', async () => {
      const m = manager();
      await m.start();
      const job = await m.startJob({ cmd: 'echo a; sleep 30', cwd: dir, env, caller: 't', timeoutS: 0.3 });
      const done = await m.wait(job.id, 10_000);
      assert.equal(done?.status, 'timed_out');
      assert.deepEqual(await groupMembers(job.pgid), []);
      assert.equal((await m.read(job.id, 'stdout', 0, 100))?.data.toString(), 'a\n');
      m.close();
    });

    test('a provisional job is held, unlisted and unsaved until promoted; discard removes it', async () => {
      const sub = join(dir, 'prov');
      const m = new JobManager({ dir: sub, pollMs: 50, pool });
      await m.start();
      const events: string[] = [];
      const hold = (tag: string) => ({
        env: { REACH_TEST_HOLD: tag },
        spawned: (pid: number) => events.push(`${tag}+${pid > 0}`),
        release: () => events.push(`${tag}-`),
      });
      const quick = await m.startJob({
        cmd: 'echo $REACH_TEST_HOLD',
        cwd: dir,
        env,
        caller: 't',
        hold: hold('q'),
      });
      assert.equal(m.get(quick.id), undefined);
      assert.deepEqual(m.list(), []);
      await m.wait(quick.id, 10_000);
      assert.equal((await m.read(quick.id, 'stdout', 0, 100))?.data.toString(), 'q\n');
      await m.discard(quick.id);
      assert.deepEqual(await readdir(sub), []);
      const slow = await m.startJob({ cmd: 'sleep 30', cwd: dir, env, caller: 't', hold: hold('s') });
      await assert.rejects(access(join(sub, slow.id, 'job.json')));
      await m.promote(slow.id);
      await access(join(sub, slow.id, 'job.json'));
      assert.equal(m.list()[0]?.id, slow.id);
      assert.deepEqual(events, ['q+true', 'q-', 's+true', 's-']);
      await m.cancel(slow.id);
      m.close();
    });

    test('start() removes what a provisional job of a previous run left', async () => {
      const sub = join(dir, 'left');
      const first = new JobManager({ dir: sub, pollMs: 50, pool });
      await first.start();
      const noop = { env: {}, spawned: () => undefined, release: () => undefined };
      const job = await first.startJob({ cmd: 'true', cwd: dir, env, caller: 't', hold: noop });
      await first.wait(job.id, 10_000);
      first.close();
      const second = new JobManager({ dir: sub, pollMs: 50, pool });
      await second.start();
      assert.deepEqual(await readdir(sub), []);
      second.close();
    });

    if (pool) {
      test('these jobs started through the pool', () => {
        assert.ok(pool.stats.served >= 5, `served ${pool.stats.served}, declined ${pool.stats.declined}`);
        assert.equal(pool.stats.failed, 0);
      });
    }
  });
