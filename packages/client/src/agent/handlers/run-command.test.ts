import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RunCommandResult } from '@reach/protocol';
import { isDead, rpcContext, waitFor } from '../../../test/helpers/rpc-context.ts';
import { createLogger } from '../../log/logger.ts';
import { OutputStore } from '../../output-store/output-store.ts';
import { poolableShell, ShellPool } from '../../spawner/shell-pool.ts';
import { PathPolicy } from '../path-policy.ts';
import { fitOutputs, runCommandHandler } from './run-command.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Failure {
  code: string;
  details: { stdout: string; stderr: string; duration_ms: number; truncated: boolean; timeout?: number };
}

// Every case runs twice: with plain spawns, and through pooled shells (spawner/shell-pool.ts),
// which must not change what a command sees or how it ends.
for (const pooled of poolableShell('/bin/sh') ? [false, true] : [false])
  describe(`run_command (${pooled ? 'pooled shells' : 'plain spawn'})`, () => {
    let dir = '';
    const started: number[] = [];
    const log = createLogger('silent');
    const baseEnv = { PATH: process.env.PATH, REACH_TEST_BASE: 'base' };
    const pool = pooled ? new ShellPool({ env: baseEnv, log, size: 2, refillQuietMs: 0 }) : undefined;
    const make = (allowed: string[] = [], extra: { maxOutputBytes?: number } = {}) =>
      runCommandHandler({
        policy: new PathPolicy(allowed),
        log,
        baseEnv,
        defaultCwd: dir,
        killGraceMs: 200,
        pool,
        ...extra,
      });
    const run = (params: unknown, h = make(), signal?: AbortSignal) =>
      h(params, rpcContext('run_command', signal)) as Promise<RunCommandResult>;

    before(async () => {
      pool?.start();
      dir = await realpath(await mkdtemp(join(tmpdir(), 'reach-run-')));
      await writeFile(join(dir, 'file'), 'x');
    });
    after(async () => {
      pool?.close();
      for (const pid of started) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
      }
      await rm(dir, { recursive: true, force: true });
    });

    test('captures stdout, stderr and a non-zero exit as a normal result', async () => {
      const r = await run({ cmd: 'echo out; echo err >&2; exit 3' });
      assert.deepEqual(RunCommandResult.parse(r), r);
      assert.equal(r.stdout, 'out\n');
      assert.equal(r.stderr, 'err\n');
      assert.equal(r.returncode, 3);
      assert.equal(r.truncated, false);
    });

    test('env is layered over the base environment; cwd is used', async () => {
      const r = await run({ cmd: 'echo "$REACH_TEST_BASE $MINE"; pwd', env: { MINE: 'mine' }, cwd: dir });
      assert.equal(r.stdout, `base mine\n${dir}\n`);
      const d = await run({ cmd: 'pwd' });
      assert.equal(d.stdout, `${dir}\n`);
    });

    test('a process killed by a signal reports 128+signo', async () => {
      const r = await run({ cmd: 'kill -9 $$' });
      assert.equal(r.returncode, 137);
    });

    test('cwd: missing → FILE_NOT_FOUND, a file → INVALID_ARGUMENT, outside the policy → PATH_DENIED', async () => {
      await assert.rejects(run({ cmd: 'true', cwd: join(dir, 'nope') }), { code: 'FILE_NOT_FOUND' });
      await assert.rejects(run({ cmd: 'true', cwd: join(dir, 'file') }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(run({ cmd: 'true', cwd: '/' }, make([dir])), { code: 'PATH_DENIED' });
      await assert.rejects(run({ cmd: 'true', cwd: `${dir}/..` }, make([dir])), { code: 'PATH_DENIED' });
    });

    test('params are validated', async () => {
      await assert.rejects(run({ cmd: 'x'.repeat(10_001) }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(run({ cmd: '' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(run({ cmd: 'true', timeout: 0 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(run({ cmd: 'true', timeout: 3601 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(run({ cmd: 'true', cwd: 'relative' }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(run({ cmd: 'true', env: { A: 'a\0b' } }), { code: 'INVALID_ARGUMENT' });
    });

    test('output past the cap keeps head and tail, states the sizes, and is stored whole', async () => {
      const outputs = new OutputStore({ dir: join(dir, 'outputs') });
      await outputs.start();
      const h = runCommandHandler({
        policy: new PathPolicy([]),
        log,
        baseEnv: { PATH: process.env.PATH },
        defaultCwd: dir,
        outputs,
      });
      // 5 MiB of numbered lines on stdout, a short stderr.
      const r = RunCommandResult.parse(
        await run({ cmd: 'seq 1 1000000 | head -c 5242880; echo done >&2', max_output_bytes: 4096 }, h),
      );
      assert.equal(r.truncated, true);
      assert.equal(r.stdout_bytes, 5 * 1024 * 1024);
      assert.equal(r.stderr, 'done\n');
      assert.ok(
        Buffer.byteLength(JSON.stringify(r.stdout)) + Buffer.byteLength(JSON.stringify(r.stderr)) <= 4096,
      );
      assert.ok(r.stdout.startsWith('1\n2\n3\n'), 'head kept');
      assert.match(r.stdout, /bytes omitted here; read_output output_id=/);
      assert.ok(r.output_id);
      const whole = await outputs.read(r.output_id, 'stdout', 0, 6 * 1024 * 1024);
      assert.equal(whole.size, 5 * 1024 * 1024);
      assert.ok(whole.complete);
      assert.ok(r.stdout.endsWith(whole.bytes.subarray(-100).toString()), 'tail kept');
      const expected = execFileSync('sh', ['-c', 'seq 1 1000000 | head -c 5242880'], {
        maxBuffer: 8 * 1024 * 1024,
      });
      assert.equal(sha256(whole.bytes), sha256(expected));
      assert.equal((await outputs.read(r.output_id, 'stderr', 0, 100)).bytes.toString(), 'done\n');
      outputs.close();
    });

    test('without a store the cut output says it was not stored; output within the cap is whole', async () => {
      const r = await run({ cmd: 'head -c 200000 /dev/zero | tr "\\0" a', max_output_bytes: 1024 });
      assert.equal(r.truncated, true);
      assert.equal(r.output_id, undefined);
      assert.match(r.stdout, /not stored/);
      assert.ok(Buffer.byteLength(JSON.stringify(r.stdout)) <= 1024);
      const small = await run({ cmd: 'printf abc; printf err >&2' });
      assert.deepEqual([small.stdout, small.stderr, small.truncated], ['abc', 'err', false]);
      assert.deepEqual([small.stdout_bytes, small.stderr_bytes], [3, 3]);
      await assert.rejects(run({ cmd: 'true', max_output_bytes: 10 }), { code: 'INVALID_ARGUMENT' });
    });

    test('output that JSON escaping inflates is cut to the budget', () => {
      const nul = '\0'.repeat(10_000);
      const fitted = fitOutputs(nul, 'ok', 20_000);
      assert.equal(fitted.cut, true);
      assert.ok(
        Buffer.byteLength(JSON.stringify(fitted.stdout)) + Buffer.byteLength(JSON.stringify(fitted.stderr)) <=
          20_000,
      );
      assert.deepEqual(fitOutputs('a', 'b', 100), { stdout: 'a', stderr: 'b', cut: false });
    });

    test('timeout kills the whole process group, grandchild included, with the partial output', async () => {
      await assert.rejects(
        run({ cmd: 'sleep 300 & echo "$!"; echo partial >&2; sleep 300', timeout: 1 }),
        (err: Failure) => {
          assert.equal(err.code, 'COMMAND_TIMEOUT');
          assert.equal(err.details.timeout, 1);
          assert.equal(err.details.stderr, 'partial\n');
          const pid = Number(err.details.stdout.trim());
          assert.ok(pid > 0);
          started.push(pid);
          return true;
        },
      );
      const pid = started.at(-1) as number;
      assert.ok(await waitFor(() => isDead(pid)), `grandchild ${pid} still alive`);
    });

    test('a process that ignores SIGTERM is killed after the grace period', async () => {
      await assert.rejects(
        run({ cmd: "trap '' TERM; echo $$; while :; do sleep 1; done", timeout: 1 }),
        (err: Failure) => {
          assert.equal(err.code, 'COMMAND_TIMEOUT');
          started.push(Number(err.details.stdout.trim()));
          return true;
        },
      );
      const pid = started.at(-1) as number;
      assert.ok(await waitFor(() => isDead(pid)));
    });

    test('a daemon in another session holding the pipes does not hang the call', async () => {
      const r = await run({ cmd: 'setsid sleep 300 & echo "$!"' });
      const pid = Number(r.stdout.trim());
      started.push(pid);
      assert.equal(r.returncode, 0);
      assert.ok(pid > 0);
    });

    test('an aborted request kills the group and fails CANCELLED', async () => {
      const ac = new AbortController();
      const p = run({ cmd: 'echo $$; sleep 300' }, make(), ac.signal);
      setTimeout(() => ac.abort(), 300);
      await assert.rejects(p, (err: Failure) => {
        assert.equal(err.code, 'CANCELLED');
        started.push(Number(err.details.stdout.trim()));
        return true;
      });
      const pid = started.at(-1) as number;
      assert.ok(await waitFor(() => isDead(pid)));
    });

    if (pool) {
      test('the pooled runs went through the pool', () => {
        // Declines are the env-less fallbacks and the bursts past the pool's two ready shells.
        assert.ok(pool.stats.served >= 8, `served ${pool.stats.served}, declined ${pool.stats.declined}`);
        assert.equal(pool.stats.failed, 0);
      });
    }
  });
