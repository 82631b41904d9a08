import {
  JOB_TAIL_BYTES,
  JobRunParams,
  type JobRunResult,
  LIMITS,
  ReachError,
  type RpcRequestContext,
} from '@reach/protocol';
import { fsError } from '@reach/protocol/node';
import type { z } from 'zod';
import type { JobManager } from '../../jobs/job-manager.ts';
import type { JobRecord } from '../../jobs/job-record.ts';
import { CommandCapture } from '../../output-store/command-capture.ts';
import { POSIX_PLATFORM } from '../../platform/platform.ts';
import { defineHandler } from './define-handler.ts';
import { fitOutputs, openCwd, type RunCommandDeps, resultBudget } from './run-command.ts';

export interface JobRunDeps extends RunCommandDeps {
  jobs: JobManager;
}

const CHUNK = 256 * 1024;

/** What the caller is told to do with a job it did not wait out. */
const HINT =
  'still running: call job_wait {job_id} (up to 50 s a call) until it ends; job_output pages all output';

/**
 * `job_run`: run_command that never outlives its caller. The command starts as a provisional job
 * (output to files, group held by the watchdog so it dies with the client); if it ends within
 * `wait` the answer is run_command's own result and the job is forgotten; otherwise the job is
 * promoted (it now outlives link, server and client) and the answer names it.
 */
export function jobRunHandler(deps: JobRunDeps) {
  return defineHandler(JobRunParams, async (params, ctx) => {
    const resolved = params.cwd === undefined ? undefined : await deps.policy.check(params.cwd);
    return runJob(deps, params, resolved, ctx);
  });
}

async function runJob(
  deps: JobRunDeps,
  params: z.infer<typeof JobRunParams>,
  resolved: string | undefined,
  ctx: RpcRequestContext,
): Promise<JobRunResult> {
  const env = { ...deps.baseEnv, ...params.env };
  // Validates shell and length as run_command does (POSIX: /bin/sh only) before anything starts.
  (deps.platform ?? POSIX_PLATFORM).shell(params.cmd, params.shell, env);
  const opened =
    resolved === undefined ? undefined : await openCwd(deps.policy, params.cwd ?? resolved, resolved, true);
  let job: Awaited<ReturnType<JobManager['startJob']>>;
  try {
    job = await deps.jobs.startJob({
      cmd: params.cmd,
      cwd: opened?.spawnCwd ?? deps.defaultCwd,
      cwdName: params.cwd ?? null,
      env,
      caller: params.caller,
      timeoutS: params.timeout,
      hold: params.wait > 0 ? deps.groups?.hold() : undefined,
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('ERR_INVALID_ARG')) throw new ReachError('INVALID_ARGUMENT', (err as Error).message);
    throw fsError(err, params.cwd ?? deps.defaultCwd);
  } finally {
    // startJob has seen the child spawn: it has chdir'd through the descriptor's link.
    await opened?.fh.close().catch(() => undefined);
  }
  const done = params.wait > 0 ? await deps.jobs.wait(job.id, params.wait * 1000, ctx.signal) : job;
  if (ctx.signal.aborted && done?.status === 'running') {
    const stopped = await deps.jobs.cancel(job.id);
    const result = await collect(deps, params, stopped?.job ?? job);
    await deps.jobs.discard(job.id);
    throw new ReachError('CANCELLED', 'command cancelled', { details: result });
  }
  // wait 0 always answers with the job (a task maps onto it), even one that has ended already.
  if (params.wait === 0 || done === undefined || done.status === 'running') {
    await deps.jobs.promote(job.id);
    return running(deps.jobs, job.id, Date.parse(job.started_at));
  }
  const result = await collect(deps, params, done);
  await deps.jobs.discard(job.id);
  if (done.status === 'timed_out') {
    throw new ReachError('COMMAND_TIMEOUT', `command timed out after ${params.timeout} s`, {
      details: { ...result, timeout: params.timeout },
      recoveryHint: 'raise timeout (max 3600 s), or run it as a job (wait: 0) and poll job_wait',
    });
  }
  return { ...result, returncode: done.exit_code ?? -1 };
}

/** The finished job's output shaped as run_command's (head and tail, output_id, frame fit). */
async function collect(deps: JobRunDeps, params: z.infer<typeof JobRunParams>, job: JobRecord) {
  const id = job.id;
  const capture = new CommandCapture(
    params.max_output_bytes ?? deps.maxOutputBytes ?? LIMITS.defaultResultBytes,
    deps.outputs,
  );
  for (const stream of ['stdout', 'stderr'] as const) {
    for (let offset = 0; ; ) {
      const page = await deps.jobs.read(id, stream, offset, CHUNK);
      if (!page || page.data.length === 0) break;
      capture[stream].push(page.data);
      offset += page.data.length;
    }
  }
  const shaped = capture.finish();
  const fitted = fitOutputs(shaped.stdout, shaped.stderr, resultBudget(deps));
  const ended = job.ended_at === null ? Date.now() : Date.parse(job.ended_at);
  return {
    stdout: fitted.stdout,
    stderr: fitted.stderr,
    duration_ms: Math.max(0, ended - Date.parse(job.started_at)),
    truncated: shaped.truncated || fitted.cut,
    stdout_bytes: shaped.stdout_bytes,
    stderr_bytes: shaped.stderr_bytes,
    ...(shaped.output_id === undefined ? {} : { output_id: shaped.output_id }),
  };
}

/** Last `JOB_TAIL_BYTES` of a stream, as text (a cut first character is dropped). */
export async function tailOf(jobs: JobManager, id: string, stream: 'stdout' | 'stderr') {
  const { stdout_bytes, stderr_bytes } = await jobs.sizes(id);
  const size = stream === 'stdout' ? stdout_bytes : stderr_bytes;
  const page = await jobs.read(id, stream, Math.max(0, size - JOB_TAIL_BYTES), JOB_TAIL_BYTES);
  return { text: page ? page.data.toString('utf8').replace(/^\uFFFD+/, '') : '', size };
}

async function running(jobs: JobManager, id: string, startedAt: number): Promise<JobRunResult> {
  const [out, err] = await Promise.all([tailOf(jobs, id, 'stdout'), tailOf(jobs, id, 'stderr')]);
  return {
    job_id: id,
    status: jobs.statusOf(id) ?? 'running',
    elapsed_ms: Math.max(0, Date.now() - startedAt),
    stdout_tail: out.text,
    stderr_tail: err.text,
    stdout_bytes: out.size,
    stderr_bytes: err.size,
    hint: HINT,
  };
}
