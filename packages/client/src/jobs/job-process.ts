import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { GroupHold } from '../spawner/command-groups.ts';
import type { ShellPool } from '../spawner/shell-pool.ts';

/** A pooled shell that has not started the job by then (a `cd` into a hung mount) is killed. */
const START_TIMEOUT_MS = 30_000;

export interface JobProcessStart {
  cmd: string;
  /** Where the shell starts: a path, or a held descriptor's /proc/<pid>/fd link. */
  cwd: string;
  env: Record<string, string | undefined>;
  /** The job's directory (0700, made by the caller): stdout, stderr and exit are written there. */
  dir: string;
  /** Told the leader's pid as soon as it is known (the watchdog holds it from then on). */
  hold?: GroupHold | undefined;
  pool?: ShellPool | undefined;
}

/**
 * Starts a job's command detached in its own group, with its output appended to `dir/stdout` and
 * `dir/stderr` (0600, O_APPEND so a truncation back to the cap makes the writer continue there)
 * and its exit code written to `dir/exit` by a wrapper shell, so neither a dropped link nor a
 * client restart loses it. Through a ready pooled shell when there is one (it is the wrapper and
 * opens the same two files by name), else a plain spawn of the wrapper. Resolves with the leader,
 * unref'd; rejects when nothing could be started (the caller cleans up).
 */
export async function startJobProcess(p: JobProcessStart): Promise<ChildProcess> {
  const out = openSync(join(p.dir, 'stdout'), 'a', 0o600);
  const err = openSync(join(p.dir, 'stderr'), 'a', 0o600);
  try {
    const env = p.hold ? { ...p.env, ...p.hold.env } : p.env;
    // A shell that did not start it in time was killed before its ack: the plain spawn below runs it.
    const pooled = await p.pool
      ?.launch({
        file: '/bin/sh',
        cmd: p.cmd,
        cwd: p.cwd,
        env,
        signal: AbortSignal.timeout(START_TIMEOUT_MS),
        onPid: (pid) => p.hold?.spawned(pid),
        jobDir: p.dir,
      })
      .catch(() => undefined);
    if (pooled) {
      pooled.stdout.resume();
      pooled.stderr.resume();
      pooled.child.unref();
      return pooled.child;
    }
    // Shell builtins only (no mv): the manager takes a partly written exit file for "not yet".
    const child = spawn(
      '/bin/sh',
      ['-c', '/bin/sh -c "$0"; c=$?; echo $c > "$1"; exit $c', p.cmd, join(p.dir, 'exit')],
      { cwd: p.cwd, env, detached: true, stdio: ['ignore', out, err] },
    );
    // Held from the moment the group exists (the pid is known once spawn() returns), not from
    // the 'spawn' event a tick later: a client killed in between must not leave it behind.
    if (child.pid !== undefined) p.hold?.spawned(child.pid);
    child.unref();
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    return child;
  } finally {
    closeSync(out);
    closeSync(err);
  }
}
