import { existsSync } from 'node:fs';
import { type FileHandle, stat } from 'node:fs/promises';
import {
  LIMITS,
  ReachError,
  type RpcRequestContext,
  RunCommandParams,
  type RunCommandResult,
} from '@reach/protocol';
import { fsError } from '@reach/protocol/node';
import type { z } from 'zod';
import type { Logger } from '../../log/logger.ts';
import { CommandCapture } from '../../output-store/command-capture.ts';
import type { OutputStore } from '../../output-store/output-store.ts';
import { type Platform, POSIX_PLATFORM } from '../../platform/platform.ts';
import type { CommandGroups } from '../../spawner/command-groups.ts';
import type { ShellPool } from '../../spawner/shell-pool.ts';
import { openConfirmedDir } from '../open-confirmed.ts';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';
import { runShell } from './run-shell.ts';

export interface RunCommandDeps {
  policy: PathPolicy;
  log: Logger;
  /** Environment every command inherits; `env` params are layered on top. */
  baseEnv: Readonly<Record<string, string | undefined>>;
  /** Working directory when the request names none. */
  defaultCwd: string;
  /** Result cap in JSON bytes when the call names none (LIMITS.defaultResultBytes). */
  maxOutputBytes?: number;
  /** Keeps the whole output of a command whose result was cut (absent: the rest is dropped). */
  outputs?: OutputStore;
  /** Between SIGTERM and SIGKILL of the process group, in ms. */
  killGraceMs?: number;
  /** After the shell exits, how long to wait for its pipes to close (a daemon may hold them), in ms. */
  drainMs?: number;
  /** JSON size the two outputs together may take so the reply fits in one RPC frame, in bytes. */
  maxResultBytes?: number;
  /**
   * Whether `/proc/<pid>/fd/<fd>` names this process's open descriptors, so a command can start in
   * the directory that was confirmed rather than in whatever its name leads to by then. Looked up
   * once per handler (`/proc/self/fd` exists) when absent.
   */
  procFd?: boolean;
  /** Kills each command's group when the client dies (the watchdog); none in unit tests. */
  groups?: CommandGroups | undefined;
  /** Shell and tree kill of this OS (platform/); POSIX when absent. */
  platform?: Platform | undefined;
  /** Shells started ahead of need that commands start through (spawner/shell-pool.ts); none: plain spawn. */
  pool?: ShellPool | undefined;
}

/** Whether /proc/<pid>/fd names this process's descriptors: never on Windows (wine maps Z:\proc). */
function hasProcFd(platform: Platform | undefined): boolean {
  return (platform ?? POSIX_PLATFORM).procRoot !== null && existsSync('/proc/self/fd');
}

/** Room left in a frame for the envelope, error message and the other fields. */
const FRAME_HEADROOM = 64 * 1024;

const jsonBytes = (s: string) => Buffer.byteLength(JSON.stringify(s));

/** JSON bytes a command's two outputs may take in one answer (job_run shapes its result the same). */
export const resultBudget = (deps: Pick<RunCommandDeps, 'maxResultBytes'>) =>
  deps.maxResultBytes ?? LIMITS.maxFrameBytes - FRAME_HEADROOM;

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

/**
 * `run_command`: runs the user's command with /bin/sh -c in its own process group (on Windows with
 * cmd.exe, or PowerShell when `shell` asks: the platform's shell).
 */
export function runCommandHandler(deps: RunCommandDeps) {
  const d: RunCommandDeps = { ...deps, procFd: deps.procFd ?? hasProcFd(deps.platform) };
  return defineHandler(RunCommandParams, async (params, ctx) => {
    const resolved = params.cwd === undefined ? undefined : await d.policy.check(params.cwd);
    return runChecked(d, params, resolved, ctx);
  });
}

/** A checked cwd held open: the child starts in `spawnCwd`; the caller closes `fh`. */
export interface OpenedCwd {
  fh: FileHandle;
  spawnCwd: string;
}

/**
 * Opens the cwd `path` (`resolved` is what `policy.check(path)` returned) as a directory, confirmed
 * inside the policy by its descriptor (openConfirmed), and names it for the child by the
 * descriptor's link, `/proc/<pid>/fd/<fd>`: the child's chdir follows that link to the directory
 * this process holds open, whatever `resolved` points to by then. The caller owns the handle and
 * keeps it open until the child has been spawned. Not a directory: INVALID_ARGUMENT.
 */
export async function openCwd(
  policy: PathPolicy,
  path: string,
  resolved: string,
  procFd: boolean,
): Promise<OpenedCwd> {
  try {
    const st = await stat(resolved);
    if (!st.isDirectory()) {
      throw new ReachError('INVALID_ARGUMENT', `cwd is not a directory: ${path}`, { details: { path } });
    }
    const fh = await openConfirmedDir(policy, resolved);
    // Without procfs nothing names the descriptor for the child, so it starts in the name, which
    // the confirm has just checked again: that narrows the window after the check, not closes it.
    return { fh, spawnCwd: procFd ? `/proc/${process.pid}/fd/${fh.fd}` : resolved };
  } catch (err) {
    throw fsError(err, path);
  }
}

/**
 * The part of `run_command` after the check: `resolved` is what `policy.check(params.cwd)`
 * returned, undefined when no cwd was given (then the default cwd is used by name, unchecked). The
 * cwd is opened and confirmed (openCwd), the command spawned in it, and the descriptor closed once
 * the child has been spawned.
 */
export async function runChecked(
  deps: RunCommandDeps,
  params: z.infer<typeof RunCommandParams>,
  resolved: string | undefined,
  ctx: RpcRequestContext,
): Promise<RunCommandResult> {
  const platform = deps.platform ?? POSIX_PLATFORM;
  const env = { ...deps.baseEnv, ...params.env };
  // Before the cwd is opened: an unknown shell or a command too long for it fails with nothing done.
  const how = platform.shell(params.cmd, params.shell, env);
  const opened =
    resolved === undefined
      ? undefined
      : await openCwd(deps.policy, params.cwd ?? resolved, resolved, deps.procFd ?? hasProcFd(deps.platform));
  const capture = new CommandCapture(
    params.max_output_bytes ?? deps.maxOutputBytes ?? LIMITS.defaultResultBytes,
    deps.outputs,
  );
  // The child needs the descriptor until it has chdir'd through the link: closed as soon as
  // runShell says it has (`started`) while the command runs, or once runShell has failed.
  let closing: Promise<void> | undefined;
  const closeCwd = () => {
    closing ??= (opened?.fh.close() ?? Promise.resolve()).catch((err: unknown) => {
      deps.log.warn({ reqId: ctx.id, err }, 'closing the cwd descriptor failed');
    });
  };
  const [ran] = await Promise.allSettled([
    runShell(params.cmd, {
      cwd: opened?.spawnCwd ?? deps.defaultCwd,
      env,
      spawn: how,
      killTree: platform.killTree,
      timeoutMs: params.timeout * 1000,
      signal: ctx.signal,
      maxOutputBytes: LIMITS.maxOutputBytesPerStream,
      sinks: capture,
      killGraceMs: deps.killGraceMs ?? 1000,
      drainMs: deps.drainMs ?? 200,
      hold: deps.groups?.hold(),
      pool: deps.pool,
      started: closeCwd,
    }),
  ]);
  closeCwd();
  await closing;
  if (ran.status === 'rejected') {
    const err: unknown = ran.reason;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    // spawn refuses NUL bytes in the command or env before any process exists.
    if (code.startsWith('ERR_INVALID_ARG')) {
      throw new ReachError('INVALID_ARGUMENT', (err as Error).message);
    }
    throw fsError(err, params.cwd ?? deps.defaultCwd);
  }
  const outcome = ran.value;
  deps.log.debug(
    { reqId: ctx.id, returncode: outcome.result.returncode, duration_ms: outcome.result.duration_ms },
    'run_command finished',
  );
  const shaped = capture.finish();
  const fitted = fitOutputs(shaped.stdout, shaped.stderr, resultBudget(deps));
  const { stdout, stderr } = fitted;
  const { duration_ms, returncode } = outcome.result;
  const truncated = shaped.truncated || fitted.cut;
  const sizes = {
    stdout_bytes: shaped.stdout_bytes,
    stderr_bytes: shaped.stderr_bytes,
    ...(shaped.output_id === undefined ? {} : { output_id: shaped.output_id }),
  };
  if (outcome.kind === 'timeout') {
    throw new ReachError('COMMAND_TIMEOUT', `command timed out after ${params.timeout} s`, {
      details: { stdout, stderr, duration_ms, truncated, ...sizes, timeout: params.timeout },
      recoveryHint: 'raise timeout (max 3600 s) or run the command in the background',
    });
  }
  if (outcome.kind === 'cancelled') {
    throw new ReachError('CANCELLED', 'command cancelled', {
      details: { stdout, stderr, duration_ms, truncated, ...sizes },
    });
  }
  return { stdout, stderr, returncode, duration_ms, truncated, ...sizes };
}
