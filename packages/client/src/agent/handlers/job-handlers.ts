import {
  JOB_LIST_CMD_CHARS,
  JOB_METHODS,
  type JobInfo,
  LIMITS,
  ReachError,
  type RpcHandler,
} from '@reach/protocol';
import type { JobManager } from '../../jobs/job-manager.ts';
import type { JobRecord } from '../../jobs/job-record.ts';
import { defineHandler } from './define-handler.ts';
import { encodePage } from './encode-page.ts';

const notFound = (id: string) =>
  new ReachError('JOB_NOT_FOUND', `no job ${id} on this client`, {
    details: { job_id: id },
    recoveryHint: 'job_list shows the jobs this client keeps (finished ones are pruned past its output cap)',
  });

async function info(jobs: JobManager, job: JobRecord, cmdChars = Number.POSITIVE_INFINITY): Promise<JobInfo> {
  const ended = job.ended_at === null ? Date.now() : Date.parse(job.ended_at);
  return {
    job_id: job.id,
    cmd: job.cmd.length > cmdChars ? `${job.cmd.slice(0, cmdChars)}…` : job.cmd,
    cwd: job.cwd,
    caller: job.caller,
    status: job.status,
    exit_code: job.exit_code,
    started_at: job.started_at,
    ended_at: job.ended_at,
    elapsed_ms: Math.max(0, ended - Date.parse(job.started_at)),
    timeout_s: job.timeout_s,
    ...(await jobs.sizes(job.id)),
    cap_hit: job.cap_hit,
    reported: job.reported,
  };
}

/** A page of one stream, at most `maxJson` JSON bytes, as text or base64. */
async function page(
  jobs: JobManager,
  id: string,
  stream: 'stdout' | 'stderr',
  offset: number,
  limit: number,
  maxJson: number,
) {
  const read = await jobs.read(id, stream, offset, limit);
  if (!read) throw notFound(id);
  const enc = encodePage(read.data, maxJson, read.eof);
  const end = offset + enc.length;
  return { read, enc, end, eof: read.eof && end >= read.size };
}

/** job_status, job_output, job_wait, job_cancel and job_list over the client's JobManager. */
export function jobHandlers(
  jobs: JobManager,
): Record<Exclude<keyof typeof JOB_METHODS, 'job_run'>, RpcHandler> {
  const found = (id: string) => {
    const job = jobs.get(id);
    if (!job) throw notFound(id);
    return job;
  };
  return {
    job_status: defineHandler(JOB_METHODS.job_status.params, async ({ job_id }) => info(jobs, found(job_id))),

    job_output: defineHandler(JOB_METHODS.job_output.params, async (p) => {
      const job = found(p.job_id);
      const maxJson = p.max_bytes ?? LIMITS.defaultResultBytes;
      const limit = p.limit ?? maxJson;
      const { read, enc, end, eof } = await page(jobs, job.id, p.stream, p.offset, limit, maxJson);
      return {
        job_id: job.id,
        stream: p.stream,
        status: job.status,
        content: enc.content,
        ...(enc.binary ? { binary: true } : {}),
        offset: p.offset,
        length: enc.length,
        size: read.size,
        eof,
        next_offset: end,
      };
    }),

    job_wait: defineHandler(JOB_METHODS.job_wait.params, async (p, ctx) => {
      found(p.job_id);
      const job = (await jobs.wait(p.job_id, p.timeout * 1000, ctx.signal)) ?? found(p.job_id);
      // Half the default result cap for each stream: the answer stays well inside one frame.
      const half = Math.floor(LIMITS.defaultResultBytes / 2);
      const out = await page(jobs, job.id, 'stdout', p.stdout_offset, half, half);
      const err = await page(jobs, job.id, 'stderr', p.stderr_offset, half, half);
      const text = (x: typeof out) =>
        x.enc.binary ? Buffer.from(x.enc.content, 'base64').toString('utf8') : x.enc.content;
      return {
        ...(await info(jobs, job)),
        stdout: text(out),
        stderr: text(err),
        stdout_next_offset: out.end,
        stderr_next_offset: err.end,
        more: out.end < out.read.size || err.end < err.read.size,
      };
    }),

    job_cancel: defineHandler(JOB_METHODS.job_cancel.params, async ({ job_id }) => {
      found(job_id);
      const r = await jobs.cancel(job_id);
      if (!r) throw notFound(job_id);
      return { job: await info(jobs, r.job), outcome: r.stopped ? 'stopped' : 'unstopped', pids: r.pids };
    }),

    job_ack: defineHandler(JOB_METHODS.job_ack.params, async ({ job_id }) => ({
      job_id,
      acked: await jobs.ack(job_id),
    })),

    job_list: defineHandler(JOB_METHODS.job_list.params, async ({ status }) => {
      const list = jobs.list().filter((j) => status === undefined || j.status === status);
      return { jobs: await Promise.all(list.map((j) => info(jobs, j, JOB_LIST_CMD_CHARS))) };
    }),
  };
}
