import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { RunCommandResult } from '@reach/protocol';
import { type KillTree, killPosixGroup } from '../../platform/process-tree.ts';
import { posixShell, type ShellSpawn } from '../../platform/shell.ts';
import { hasExited } from '../../spawner/child-exited.ts';
import type { GroupHold } from '../../spawner/command-groups.ts';
import type { Launched, ShellPool } from '../../spawner/shell-pool.ts';

export interface ShellOptions {
  /** Directory the child starts in (libuv chdirs in the child, before exec). */
  cwd: string;
  env: Record<string, string | undefined>;
  timeoutMs: number;
  signal: AbortSignal;
  maxOutputBytes: number;
  /** Where the output goes instead of a buffer capped at `maxOutputBytes` (run-command's capture). */
  sinks?: { stdout: OutputSink; stderr: OutputSink };
  killGraceMs: number;
  drainMs: number;
  /** Ties the command's group to the client's life (spawner/command-groups.ts); released at the end. */
  hold?: GroupHold | undefined;
  /** How the command is started (platform/shell.ts); `/bin/sh -c cmd` in its own group by default. */
  spawn?: ShellSpawn | undefined;
  /** How its tree is killed on timeout or cancel; the process group by default. */
  killTree?: KillTree | undefined;
  /** Ready shells to start it through (spawner/shell-pool.ts); a plain spawn when absent or declined. */
  pool?: ShellPool | undefined;
  /** Called once the child has changed to `cwd` and is exec'ing (what names `cwd` may go then). */
  started?: (() => void) | undefined;
}

export type ShellOutcome = { kind: 'exited' | 'timeout' | 'cancelled'; result: RunCommandResult };

/** Receives one stream's output; `text()` and `truncated` go into the outcome. */
export interface OutputSink {
  push(chunk: Buffer): void;
  text(): string;
  readonly truncated: boolean;
}

/** Captures at most `limit` bytes of a stream, keeps reading past it so the writer never blocks. */
class CappedBuffer implements OutputSink {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  truncated = false;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    const room = this.#limit - this.#size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.#chunks.push(kept);
    this.#size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks, this.#size).toString('utf8');
  }
}

/**
 * Runs `cmd` with /bin/sh -c in a new process group (or as `o.spawn` says: cmd.exe or PowerShell on
 * Windows) and collects its output. The child starts through a pooled shell when `o.pool` has one
 * ready, else by a plain spawn: spawn() is synchronous, and libuv returns from it only once the
 * child has chdir'd to `o.cwd` and exec'd (or failed to). Either way `o.started` is called once
 * whatever `cwd` names (a descriptor's /proc/<pid>/fd link) may be released. Spawn failures reject.
 */
export async function runShell(cmd: string, o: ShellOptions): Promise<ShellOutcome> {
  const started = performance.now();
  // The command text is the user's shell command; nothing else is interpolated into a shell string.
  // detached: the shell leads a new process group, so a timeout can kill everything it started.
  const how = o.spawn ?? posixShell(cmd);
  const env = o.hold ? { ...o.env, ...o.hold.env } : o.env;
  const pooled =
    o.pool !== undefined &&
    how.detached &&
    how.args.length === 2 &&
    how.args[0] === '-c' &&
    how.args[1] === cmd
      ? await launchPooled(o.pool, how.file, cmd, env, o)
      : undefined;
  if (pooled === 'timeout' || pooled === 'cancelled') {
    // Given up before the shell had even changed directory: nothing ran, nothing is spawned; the
    // shell held for it was killed.
    o.started?.();
    o.hold?.release();
    const duration_ms = Math.round(performance.now() - started);
    return {
      kind: pooled,
      result: { stdout: '', stderr: '', returncode: -1, duration_ms, truncated: false },
    };
  }
  if (pooled) {
    o.started?.();
    return collect(pooled.child, pooled, started, o);
  }
  const child = spawn(how.file, how.args, {
    cwd: o.cwd,
    env,
    detached: how.detached,
    windowsVerbatimArguments: how.windowsVerbatimArguments,
    windowsHide: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  o.started?.();
  // stdio above pipes both.
  return collect(child, child, started, o);
}

/**
 * A start through the pool that the call's timeout and cancel also bound: until its shell has
 * acknowledged, nothing else would (the timer starts with the command).
 */
async function launchPooled(
  pool: ShellPool,
  file: string,
  cmd: string,
  env: Readonly<Record<string, string | undefined>>,
  o: ShellOptions,
): Promise<Launched | 'timeout' | 'cancelled' | undefined> {
  const timeout = AbortSignal.timeout(o.timeoutMs);
  const launched = await pool.launch({
    file,
    cmd,
    cwd: o.cwd,
    env,
    signal: AbortSignal.any([o.signal, timeout]),
    onPid: (pid) => o.hold?.spawned(pid),
  });
  if (launched !== undefined) return launched;
  if (o.signal.aborted) return 'cancelled';
  return timeout.aborted ? 'timeout' : undefined;
}

/**
 * Watches a started child to its end: its output (`out`: the child's pipes, or what the pool has
 * been reading them into) into the sinks, timeout and cancel, exit status.
 */
function collect(
  child: ChildProcess,
  out: { stdout: Readable; stderr: Readable },
  started: number,
  o: ShellOptions,
): Promise<ShellOutcome> {
  return new Promise((resolve, reject) => {
    if (child.pid !== undefined) o.hold?.spawned(child.pid);
    const stdout = o.sinks?.stdout ?? new CappedBuffer(o.maxOutputBytes);
    const stderr = o.sinks?.stderr ?? new CappedBuffer(o.maxOutputBytes);
    out.stdout.on('data', (c: Buffer) => stdout.push(c));
    out.stderr.on('data', (c: Buffer) => stderr.push(c));

    let ending: 'timeout' | 'cancelled' | null = null;
    let exitCode: number | null = null;
    let openStreams = 2;
    let graceTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const killTree = o.killTree ?? killPosixGroup;
    const killGroup = (sig: 'SIGTERM' | 'SIGKILL') => {
      if (child.pid !== undefined) killTree(child.pid, sig);
    };
    const stop = (why: 'timeout' | 'cancelled') => {
      if (ending || exitCode !== null) return;
      ending = why;
      killGroup('SIGTERM');
      graceTimer = setTimeout(() => killGroup('SIGKILL'), o.killGraceMs);
    };
    const timer = setTimeout(() => stop('timeout'), o.timeoutMs);
    const onAbort = () => stop('cancelled');
    o.signal.addEventListener('abort', onAbort, { once: true });

    const finish = () => {
      if (settled || exitCode === null) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      o.signal.removeEventListener('abort', onAbort);
      if (ending) {
        // Whatever survived SIGTERM (or ignores it) goes now, grace or not.
        clearTimeout(graceTimer);
        killGroup('SIGKILL');
      }
      o.hold?.release();
      out.stdout.destroy();
      out.stderr.destroy();
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({
        kind: ending ?? 'exited',
        result: {
          stdout: stdout.text(),
          stderr: stderr.text(),
          returncode: exitCode,
          duration_ms: Math.round(performance.now() - started),
          truncated: stdout.truncated || stderr.truncated,
        },
      });
    };
    const onStreamClosed = () => {
      openStreams -= 1;
      if (openStreams === 0) finish();
    };
    out.stdout.on('close', onStreamClosed);
    out.stderr.on('close', onStreamClosed);

    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      o.signal.removeEventListener('abort', onAbort);
      o.hold?.release();
      reject(err);
    });
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      if (openStreams === 0) {
        finish();
        return;
      }
      // A background process may still hold the pipes: give buffered output a moment, then stop reading.
      drainTimer = setTimeout(finish, o.drainMs);
    };
    // A pooled shell's command can have exited (and 'exit' been emitted) before its start was
    // confirmed to this function; its output is still unread in the pipes.
    if (hasExited(child)) onExit(child.exitCode, child.signalCode);
    else child.on('exit', onExit);
    if (o.signal.aborted) onAbort();
  });
}
