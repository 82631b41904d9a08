import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { rpcContext } from '../../../test/helpers/rpc-context.ts';
import { createLogger } from '../../log/logger.ts';
import { PathPolicy } from '../path-policy.ts';
import { openCwd, type RunCommandDeps, runChecked } from './run-command.ts';
import { runShell } from './run-shell.ts';

const hasProc = existsSync('/proc/self/fd');

/**
 * run_command's cwd against the check-then-use race, run deterministically: check the cwd, swap a
 * component for a symlink leading outside the allowed root, then run the step after the check. The
 * command (`touch marker`) must not run anywhere: no marker appears outside or in the moved dir.
 */
describe('run_command cwd against a symlink swapped in after the check', () => {
  let root = '';
  let allowed = '';
  let outside = '';
  let dir = '';
  let policy: PathPolicy;
  let deps: RunCommandDeps;
  let n = 0;
  const run = (cmd: string, cwd: string, resolved: string, d: RunCommandDeps = deps) =>
    runChecked(d, { cmd, cwd, timeout: 10 }, resolved, rpcContext('run_command'));

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-cwd-swap-')));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(allowed);
    policy = new PathPolicy([allowed]);
    deps = { policy, log: createLogger('silent'), baseEnv: { PATH: process.env.PATH }, defaultCwd: root };
  });
  beforeEach(async () => {
    n += 1;
    dir = join(allowed, `case-${n}`, 'dir');
    await mkdir(dir, { recursive: true });
    await rm(outside, { recursive: true, force: true });
    await mkdir(outside);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Moves `dir` aside and puts a symlink to `outside` in its place. */
  const swapDir = async () => {
    await rename(dir, `${dir}-moved`);
    await symlink(outside, dir);
  };

  test('unswapped: the command runs in the directory (pwd -P is its real path)', async () => {
    const r = await run('pwd -P; touch marker', dir, await policy.check(dir));
    assert.equal(r.stdout, `${dir}\n`);
    assert.equal(r.returncode, 0);
    assert.deepEqual(await readdir(dir), ['marker']);
  });

  test('the cwd swapped for a symlink after the check: PATH_DENIED, nothing runs', async () => {
    const resolved = await policy.check(dir);
    await swapDir();
    await assert.rejects(run('touch marker', dir, resolved), {
      code: 'PATH_DENIED',
      message: /symbolic link appeared/,
    });
    assert.deepEqual(await readdir(outside), []);
    assert.deepEqual(await readdir(`${dir}-moved`), []);
  });

  test('a parent of the cwd swapped for a symlink after the check: PATH_DENIED, nothing runs', async () => {
    await mkdir(join(outside, 'dir'));
    const resolved = await policy.check(dir);
    const parent = join(dir, '..');
    await rename(parent, `${parent}-moved`);
    await symlink(outside, parent);
    await assert.rejects(run('touch marker', dir, resolved), {
      code: 'PATH_DENIED',
      message: /outside the allowed paths/,
    });
    assert.deepEqual(await readdir(join(outside, 'dir')), []);
    assert.deepEqual(await readdir(join(`${parent}-moved`, 'dir')), []);
  });

  test('swapped after the confirm, before the spawn: the child still starts in the confirmed directory', {
    skip: hasProc ? false : 'no /proc/self/fd',
  }, async () => {
    const opened = await openCwd(policy, dir, await policy.check(dir), true);
    try {
      assert.equal(opened.spawnCwd, `/proc/${process.pid}/fd/${opened.fh.fd}`);
      await swapDir();
      const r = await runShell('pwd -P; touch marker', {
        cwd: opened.spawnCwd,
        env: { PATH: process.env.PATH },
        timeoutMs: 10_000,
        signal: new AbortController().signal,
        maxOutputBytes: 4096,
        killGraceMs: 200,
        drainMs: 200,
      });
      assert.equal(r.result.stdout, `${dir}-moved\n`);
      assert.deepEqual(await readdir(outside), []);
      assert.deepEqual(await readdir(`${dir}-moved`), ['marker']);
    } finally {
      await opened.fh.close();
    }
  });

  test('the cwd descriptor is closed after the run and not inherited by the command', {
    skip: hasProc ? false : 'no /proc/self/fd',
  }, async () => {
    const before = (await readdir('/proc/self/fd')).length;
    // What each of the shell's descriptors names: the cwd's descriptor is close-on-exec.
    const r = await run('for f in /proc/$$/fd/*; do readlink "$f"; done', dir, await policy.check(dir));
    assert.match(r.stdout, /pipe:/);
    assert.ok(!r.stdout.split('\n').includes(dir), r.stdout);
    assert.equal((await readdir('/proc/self/fd')).length, before);
  });

  test('without procfs the child starts in the checked name (the confirm re-checked it)', async () => {
    const opened = await openCwd(policy, dir, await policy.check(dir), false);
    await opened.fh.close();
    assert.equal(opened.spawnCwd, dir);
    const r = await run('pwd -P', dir, await policy.check(dir), { ...deps, procFd: false });
    assert.equal(r.stdout, `${dir}\n`);
  });

  test('not a directory stays INVALID_ARGUMENT, missing stays FILE_NOT_FOUND', async () => {
    await assert.rejects(run('true', `${dir}/nope`, await policy.check(`${dir}/nope`)), {
      code: 'FILE_NOT_FOUND',
    });
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    await assert.rejects(run('true', file, await policy.check(file)), {
      code: 'INVALID_ARGUMENT',
      message: /cwd is not a directory/,
    });
  });
});
