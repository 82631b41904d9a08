import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isDead, waitFor } from '../../test/helpers/rpc-context.ts';
import { runShell, type ShellOptions } from '../agent/handlers/run-shell.ts';
import { createLogger } from '../log/logger.ts';
import { MEMBER_SCRIPT, poolableShell, ShellPool } from './shell-pool.ts';

const log = createLogger('silent');
const skip = poolableShell('/bin/sh') ? false : '/bin/sh is not a shell the pool runs on';

/**
 * What a command can see of how it was started. Numbers that differ between any two runs (pids,
 * socket inodes) are printed as relations: `$$` against /proc's view, the parent against the client.
 * The signal masks are read by the shell itself: dash blocks every signal around a fork, so a `grep`
 * of its status can catch that window.
 */
const PROBE = `read -r pid comm state ppid pgrp sid rest < /proc/$$/stat
echo "0=$0 #=$# -=$- pid=$(( pid == $$ )) pgrp=$(( pgrp == $$ )) sid=$(( sid == $$ )) ppid=$ppid"
while read -r k v; do case $k in Sig[BIC]*) echo "$k $v" ;; esac; done < /proc/$$/status
umask
pwd -P
readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2
for n in 3 4 5 6 7 8 9; do [ -e /proc/$$/fd/$n ] && echo "fd $n open"; done
env`;

/** The probe's output with socket inode numbers taken out and env's lines in order. */
const normal = (out: string) => {
  const lines = out.replace(/:\[\d+\]/g, ':[N]').split('\n');
  const envAt = lines.findIndex((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l));
  return [...lines.slice(0, envAt), ...lines.slice(envAt).sort()].join('\n');
};

describe('ShellPool (real shells)', { skip }, () => {
  let dir = '';
  const env = { PATH: process.env.PATH, HOME: '/root', LANG: 'C.UTF-8', PWD: '/', OLDPWD: '/tmp', X: 'base' };
  const opts = (o: Partial<ShellOptions> = {}): ShellOptions => ({
    cwd: dir,
    env,
    timeoutMs: 10_000,
    signal: new AbortController().signal,
    maxOutputBytes: 1 << 20,
    killGraceMs: 200,
    drainMs: 200,
    ...o,
  });
  /** MEMBER_SCRIPT with what it does in place of its ack (`printf S >&3`), every one replaced. */
  const withAck = (instead: string): string => {
    const script = MEMBER_SCRIPT.replaceAll('printf S >&3', () => instead);
    assert.notEqual(script, MEMBER_SCRIPT, 'the script still acks with `printf S >&3`');
    return script;
  };
  /** One ready shell (running `script` when given), closed once `fn` is done, pass or fail. */
  const withPool = async (o: { script?: string }, fn: (pool: ShellPool) => Promise<void>) => {
    const pool = new ShellPool({ env, log, size: 1, refillQuietMs: 0, ...o });
    pool.start();
    try {
      await fn(pool);
    } finally {
      pool.close();
    }
  };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-pool-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a pooled command sees what a plain spawn shows it: process, signals, descriptors, env', async () => {
    await withPool({}, async (pool) => {
      const extra = { ...env, X: 'changed', MULTI: 'a\nb\\n\n', EMPTY: '', SP: ' lead and trail ' };
      const plain = await runShell(PROBE, opts({ env: extra }));
      const pooled = await runShell(PROBE, opts({ env: extra, pool }));
      assert.equal(pool.stats.served, 1);
      assert.equal(normal(pooled.result.stdout), normal(plain.result.stdout));
      assert.equal(pooled.result.stderr, plain.result.stderr);
      assert.equal(pooled.result.returncode, 0);
      const out = normal(pooled.result.stdout);
      assert.match(out, new RegExp(`^0=/bin/sh #=0 -=\\S* pid=1 pgrp=1 sid=1 ppid=${process.pid}$`, 'm'));
      assert.match(out, /^SigIgn: 0+$/m);
      assert.match(out, /^SigBlk: 0+$/m);
      assert.match(out, /^\/dev\/null\n(socket|pipe):\[N\]\n(socket|pipe):\[N\]$/m);
      assert.doesNotMatch(out, /^fd \d open$/m);
      assert.match(out, /^X=changed$/m);
      assert.match(out, /^MULTI=a$/m);
      assert.match(out, /^OLDPWD=\/tmp$/m);
      // The command's own shell sets PWD to where it starts, plain spawn or not.
      assert.ok(out.includes(`\nPWD=${dir}\n`), out);
    });
  });

  test('exit status, a signal, stderr and a shell syntax error read the same both ways', async () => {
    await withPool({}, async (pool) => {
      for (const cmd of ['echo out; echo err >&2; exit 7', 'kill -TERM $$', 'if', 'nonexistent-command-x']) {
        const plain = await runShell(cmd, opts());
        const pooled = await runShell(cmd, opts({ pool }));
        assert.deepEqual(
          { ...pooled.result, duration_ms: 0 },
          { ...plain.result, duration_ms: 0 },
          `differs for ${cmd}`,
        );
      }
      assert.equal(pool.stats.served, 4);
    });
  });

  test('a ready shell killed from outside is replaced, and the next command is served', async () => {
    await withPool({}, async (pool) => {
      const [first] = pool.readyPids;
      assert.ok(first);
      process.kill(first, 'SIGKILL');
      assert.ok(await waitFor(async () => pool.readyPids.length === 1 && pool.readyPids[0] !== first));
      const r = await runShell('echo ok', opts({ pool }));
      assert.equal(r.result.stdout, 'ok\n');
      assert.equal(pool.stats.served, 1);
      assert.equal(pool.stats.failed, 1);
    });
  });

  test('a command that has exited before its ack is read counts as started: it runs once, and ends', async () => {
    // The `S` comes 200 ms after the command (`echo`) has exited: what a busy loop can see when it
    // gets to a quick command's exit before the ack the shell wrote ahead of its exec.
    const lateAck = withAck('(sleep 0.2; printf S) >&3 &');
    await withPool({ script: lateAck }, async (pool) => {
      const marker = join(dir, 'once');
      for (let i = 1; i <= 2; i++) {
        assert.ok(await waitFor(async () => pool.readyPids.length === 1));
        const r = await runShell(`echo x >> ${marker}; echo done`, opts({ pool }));
        assert.equal(r.result.returncode, 0);
        assert.equal(r.result.stdout, 'done\n');
        assert.equal(await readFile(marker, 'utf8'), 'x\n'.repeat(i));
      }
      assert.equal(pool.stats.served, 2);
    });
  });

  test('a shell stuck before its ack (a cd into a hung mount) is bounded by the timeout and cancel', async () => {
    const stuck = withAck('sleep 30; printf S >&3');
    await withPool({ script: stuck }, async (pool) => {
      const marker = join(dir, 'stuck');
      assert.ok(await waitFor(async () => pool.readyPids.length === 1));
      let [member] = pool.readyPids;
      const timedOut = await runShell(`touch ${marker}`, opts({ pool, timeoutMs: 300 }));
      assert.equal(timedOut.kind, 'timeout');
      assert.ok(await waitFor(() => isDead(member as number)), 'the stuck shell is killed');

      assert.ok(await waitFor(async () => pool.readyPids.length === 1));
      [member] = pool.readyPids;
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const cancelled = await runShell(`touch ${marker}`, opts({ pool, signal: ac.signal }));
      assert.equal(cancelled.kind, 'cancelled');
      assert.ok(await waitFor(() => isDead(member as number)));
      // Neither ran the command, nor handed it to a plain spawn; neither counts against the pool.
      await assert.rejects(readFile(marker), { code: 'ENOENT' });
      assert.deepEqual(pool.stats, { served: 0, declined: 2, failed: 0 });
    });
  });

  test('a shell that dies mid-request: the command runs once, spawned plainly; three in a row rest the pool', async () => {
    // The member reads the whole request, then is killed before it starts anything.
    // (A function: in a replacement string `$$` would mean one `$`.)
    const dying = withAck('kill -KILL $$');
    await withPool({ script: dying }, async (pool) => {
      const marker = join(dir, 'ran');
      for (let i = 0; i < 3; i++) {
        assert.ok(await waitFor(async () => pool.readyPids.length === 1), 'a member is ready');
        const r = await runShell(`echo x >> ${marker}; echo $$`, opts({ pool }));
        assert.equal(r.result.returncode, 0);
        assert.equal(await readFile(marker, 'utf8'), 'x\n'.repeat(i + 1));
      }
      assert.deepEqual(pool.stats, { served: 0, declined: 3, failed: 3 });
      // Resting: no member is started, commands go the plain way at once.
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(pool.readyPids, []);
      const r = await runShell('echo plain', opts({ pool }));
      assert.equal(r.result.stdout, 'plain\n');
      assert.equal(pool.stats.declined, 4);
    });
  });

  test('a cwd the shell cannot enter fails as a plain spawn does, without counting against the pool', async () => {
    await withPool({}, async (pool) => {
      const missing = join(dir, 'missing');
      const plain = await runShell('true', opts({ cwd: missing })).catch(
        (e: NodeJS.ErrnoException) => e.code,
      );
      const pooled = await runShell('true', opts({ cwd: missing, pool })).catch(
        (e: NodeJS.ErrnoException) => e.code,
      );
      assert.equal(plain, 'ENOENT');
      assert.equal(pooled, 'ENOENT');
      assert.equal(pool.stats.failed, 0);
    });
  });

  test('requests the script cannot carry go the plain way with the same outcome', async () => {
    await withPool({}, async (pool) => {
      const { X: _dropped, ...without } = env;
      const cases: [string, Record<string, string | undefined>][] = [
        ['echo "[$X]"', without],
        ['echo "$__reach_k"', { ...env, __reach_k: 'mine' }],
        ['env | grep -c "^A-B="', { ...env, 'A-B': '1' }],
        ['echo big', { ...env, BIG: 'y'.repeat(20_000) }],
      ];
      for (const [cmd, e] of cases) {
        const plain = await runShell(cmd, opts({ env: e }));
        const pooled = await runShell(cmd, opts({ env: e, pool }));
        assert.equal(pooled.result.stdout, plain.result.stdout, cmd);
      }
      await assert.rejects(runShell('true', opts({ env: { ...env, N: 'a\0b' }, pool })), {
        code: 'ERR_INVALID_ARG_VALUE',
      });
      assert.equal(pool.stats.served, 0);
      assert.equal(pool.stats.declined, 5);
    });
  });

  test('ready shells exit when the client is SIGKILLed', async () => {
    const url = new URL('./shell-pool.ts', import.meta.url).href;
    const script = `import { ShellPool } from ${JSON.stringify(url)};
const p = new ShellPool({ env: process.env, log: { warn() {}, child() { return this; } }, size: 2 });
p.start(); console.log(p.readyPids.join(' ')); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise<string>((resolve) =>
        child.stdout.once('data', (d: Buffer) => resolve(d.toString())),
      );
      const pids = line.trim().split(' ').map(Number);
      assert.equal(pids.length, 2);
      for (const p of pids) assert.equal(await isDead(p), false, `member ${p} is running`);
      child.kill('SIGKILL');
      const allDead = async () => (await Promise.all(pids.map(isDead))).every(Boolean);
      assert.ok(await waitFor(allDead), `members ${pids.join(',')} outlived the client`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
