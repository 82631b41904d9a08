import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RunCommandResult } from '@reach/protocol';
import { isDead, rpcContext, waitFor } from '../../../test/helpers/rpc-context.ts';
import { createLogger } from '../../log/logger.ts';
import { PathPolicy } from '../path-policy.ts';
import { fitOutputs, runCommandHandler } from './run-command.ts';

interface Failure {
  code: string;
  details: { stdout: string; stderr: string; duration_ms: number; truncated: boolean; timeout?: number };
}

describe('run_command', () => {
  let dir = '';
  const started: number[] = [];
  const log = createLogger('silent');
  const make = (allowed: string[] = [], extra: { maxOutputBytes?: number } = {}) =>
    runCommandHandler({
      policy: new PathPolicy(allowed),
      log,
      baseEnv: { PATH: process.env.PATH, REACH_TEST_BASE: 'base' },
      defaultCwd: dir,
      killGraceMs: 200,
      ...extra,
    });
  const run = (params: unknown, h = make(), signal?: AbortSignal) =>
    h(params, rpcContext('run_command', signal)) as Promise<RunCommandResult>;

  before(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'reach-run-')));
    await writeFile(join(dir, 'file'), 'x');
  });
  after(async () => {
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

  test('output past the cap is read and dropped, and reported', async () => {
    const h = make([], { maxOutputBytes: 1000 });
    const r = await run({ cmd: 'head -c 200000 /dev/zero | tr "\\0" a; echo done >&2' }, h);
    assert.equal(r.stdout.length, 1000);
    assert.equal(r.stderr, 'done\n');
    assert.equal(r.truncated, true);
    assert.equal(r.returncode, 0);
  });

  test('two full streams are cut to fit one RPC frame, and reported', async () => {
    const r = await run({
      cmd: 'head -c 10485760 /dev/zero | tr "\\0" a; head -c 10485760 /dev/zero | tr "\\0" b >&2',
    });
    assert.equal(r.truncated, true);
    assert.ok(r.stdout.length > 1_000_000 && r.stderr.length > 1_000_000);
    assert.ok(Buffer.byteLength(JSON.stringify(r)) < 16 * 1024 * 1024);
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
});
