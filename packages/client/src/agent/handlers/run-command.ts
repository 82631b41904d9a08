import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { constants } from 'node:os';
import { performance } from 'node:perf_hooks';
import { LIMITS, ReachError, RunCommandParams, type RunCommandResult } from '@reach/protocol';
import { fsError } from '@reach/protocol/node';
import type { Logger } from '../../log/logger.ts';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';

export interface RunCommandDeps {
  policy: PathPolicy;
  log: Logger;
  /** Environment every command inherits; `env` params are layered on top. */
  baseEnv: Readonly<Record<string, string | undefined>>;
  /** Working directory when the request names none. */
  defaultCwd: string;
  /** Bytes kept per stream; the rest is read and dropped. */
  maxOutputBytes?: number;
  /** Between SIGTERM and SIGKILL of the process group, in ms. */
  killGraceMs?: number;
  /** After the shell exits, how long to wait for its pipes to close (a daemon may hold them), in ms. */
  drainMs?: number;
  /** JSON size the two outputs together may take so the reply fits in one RPC frame, in bytes. */
  maxResultBytes?: number;
}

/** Room left in a frame for the envelope, error message and the other fields. */
const FRAME_HEADROOM = 64 * 1024;

const jsonBytes = (s: string) => Buffer.byteLength(JSON.stringify(s));

/**
 * Two full streams (2 × 10 MiB), or output that JSON escaping inflates (control bytes become
 * \u00XX), would not fit in one frame: cut both streams' tails in proportion until they do.
 */
export function fitOutputs(stdout: string, stderr: string, budget: number) {
  let out = stdout;
  let err = stderr;
  let cut = false;
  for (let size = jsonBytes(out) + jsonBytes(err); size > budget; size = jsonBytes(out) + jsonBytes(err)) {
    const ratio = (budget / size) * 0.95;
    out = out.slice(0, Math.floor(out.length * ratio));
    err = err.slice(0, Math.floor(err.length * ratio));
    cut = true;
  }
  return { stdout: out, stderr: err, cut };
}

/** `run_command`: runs the user's command with /bin/sh -c in its own process group. */
export function runCommandHandler(deps: RunCommandDeps) {
  return defineHandler(RunCommandParams, async (params, ctx) => {
    let cwd = deps.defaultCwd;
    if (params.cwd !== undefined) {
      cwd = await deps.policy.check(params.cwd);
      const st = await stat(cwd).catch((err: unknown) => {
        throw fsError(err, params.cwd as string);
      });
      if (!st.isDirectory()) {
        throw new ReachError('INVALID_ARGUMENT', `cwd is not a directory: ${params.cwd}`, {
          details: { path: params.cwd },
        });
      }
    }
    const outcome = await runShell(params.cmd, {
      cwd,
      env: { ...deps.baseEnv, ...params.env },
      timeoutMs: params.timeout * 1000,
      signal: ctx.signal,
      maxOutputBytes: deps.maxOutputBytes ?? LIMITS.maxOutputBytesPerStream,
      killGraceMs: deps.killGraceMs ?? 1000,
      drainMs: deps.drainMs ?? 200,
    }).catch((err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      // spawn refuses NUL bytes in the command or env before any process exists.
      if (code.startsWith('ERR_INVALID_ARG')) {
        throw new ReachError('INVALID_ARGUMENT', (err as Error).message);
      }
      throw fsError(err, params.cwd ?? cwd);
    });
    deps.log.debug(
      { reqId: ctx.id, returncode: outcome.result.returncode, duration_ms: outcome.result.duration_ms },
      'run_command finished',
    );
    const fitted = fitOutputs(
      outcome.result.stdout,
      outcome.result.stderr,
      deps.maxResultBytes ?? LIMITS.maxFrameBytes - FRAME_HEADROOM,
    );
    const { stdout, stderr } = fitted;
    const { duration_ms, returncode } = outcome.result;
    const truncated = outcome.result.truncated || fitted.cut;
    if (outcome.kind === 'timeout') {
      throw new ReachError('COMMAND_TIMEOUT', `command timed out after ${params.timeout} s`, {
        details: { stdout, stderr, duration_ms, truncated, timeout: params.timeout },
        recoveryHint: 'raise timeout (max 3600 s) or run the command in the background',
      });
    }
    if (outcome.kind === 'cancelled') {
      throw new ReachError('CANCELLED', 'command cancelled', {
        details: { stdout, stderr, duration_ms, truncated },
      });
    }
    return { stdout, stderr, returncode, duration_ms, truncated };
  });
}

interface ShellOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  timeoutMs: number;
  signal: AbortSignal;
  maxOutputBytes: number;
  killGraceMs: number;
  drainMs: number;
}

type ShellOutcome = { kind: 'exited' | 'timeout' | 'cancelled'; result: RunCommandResult };

/** Captures at most `limit` bytes of a stream, keeps reading past it so the writer never blocks. */
class CappedBuffer {
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

function runShell(cmd: string, o: ShellOptions): Promise<ShellOutcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // The command text is the user's shell command; nothing else is interpolated into a shell string.
    // detached: the shell leads a new process group, so a timeout can kill everything it started.
    const child = spawn('/bin/sh', ['-c', cmd], {
      cwd: o.cwd,
      env: o.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout = new CappedBuffer(o.maxOutputBytes);
    const stderr = new CappedBuffer(o.maxOutputBytes);
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));

    let ending: 'timeout' | 'cancelled' | null = null;
    let exitCode: number | null = null;
    let openStreams = 2;
    let graceTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // ESRCH: the group is gone already.
      }
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
      child.stdout.destroy();
      child.stderr.destroy();
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
    child.stdout.on('close', onStreamClosed);
    child.stderr.on('close', onStreamClosed);

    child.on('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      o.signal.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      exitCode = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
      if (openStreams === 0) {
        finish();
        return;
      }
      // A background process may still hold the pipes: give buffered output a moment, then stop reading.
      drainTimer = setTimeout(finish, o.drainMs);
    });
    if (o.signal.aborted) onAbort();
  });
}
