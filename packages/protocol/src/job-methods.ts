import { z } from 'zod';
import { RunCommandParams, RunCommandResult } from './agent-methods.ts';
import { LIMITS } from './limits.ts';

/**
 * Jobs: commands that outlive the call that started them (run_command past its `wait`), kept by
 * the client with their output spooled to its state directory. The server calls these on the
 * client's agent; the MCP job tools relay them.
 */

export const JobId = z.string().regex(/^job-[0-9a-f]{16}$/, 'a job id: job-<16 hex>');
export const JobStatus = z.enum(['running', 'exited', 'cancelled', 'timed_out', 'lost']);
export const JobStream = z.enum(['stdout', 'stderr']);

/** Longest `wait` of run_command and `timeout` of job_wait: below every common MCP client's 60 s cut-off. */
export const MAX_JOB_WAIT_S = 50;
/** Longest command text a job listing carries (the job itself keeps the whole command). */
export const JOB_LIST_CMD_CHARS = 200;
/** Tail of each stream in run_command's running-job answer and in job_wait's, in bytes. */
export const JOB_TAIL_BYTES = 4096;

export const JobInfo = z.object({
  job_id: JobId,
  cmd: z.string(),
  cwd: z.string().nullable(),
  caller: z.string(),
  status: JobStatus,
  exit_code: z.number().int().nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  elapsed_ms: z.number().int().nonnegative(),
  timeout_s: z.number().nullable(),
  /** Bytes kept of each stream so far (at most the per-job cap). */
  stdout_bytes: z.number().int().nonnegative(),
  stderr_bytes: z.number().int().nonnegative(),
  /** A stream outgrew the per-job cap: the bytes past it were dropped. */
  cap_hit: z.boolean(),
  /** The server has reported the job's end (webhook, audit): job_ack. */
  reported: z.boolean(),
});
export type JobInfo = z.infer<typeof JobInfo>;

/** What run_command answers when the command is still running at the end of its `wait`. */
export const RunningJobResult = z.object({
  job_id: JobId,
  /** `running`, unless a `wait: 0` job has ended already (job_wait then has its result). */
  status: JobStatus,
  elapsed_ms: z.number().int().nonnegative(),
  /** The last bytes of each stream so far (up to 4 KiB; job_output pages the whole). */
  stdout_tail: z.string(),
  stderr_tail: z.string(),
  stdout_bytes: z.number().int().nonnegative(),
  stderr_bytes: z.number().int().nonnegative(),
  hint: z.string(),
});
export type RunningJobResult = z.infer<typeof RunningJobResult>;

/**
 * run_command that may become a job: waits `wait` seconds (0: none) for the command, then answers
 * with its result as run_command would, or with the running job it has become.
 */
export const JobRunParams = RunCommandParams.extend({
  wait: z.number().min(0).max(MAX_JOB_WAIT_S),
  /** Who asked (the server's caller name), kept with the job. */
  caller: z.string().max(200).default(''),
});
export const JobRunResult = z.union([RunCommandResult, RunningJobResult]);
export type JobRunResult = z.infer<typeof JobRunResult>;

const ById = z.object({ job_id: JobId });

export const JobOutputParams = z.object({
  job_id: JobId,
  stream: JobStream.default('stdout'),
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  /** Bytes from offset; at most (and by default) the result cap. */
  limit: z.number().int().min(1).max(LIMITS.maxResultBytes).optional(),
  max_bytes: z.number().int().min(LIMITS.minResultBytes).max(LIMITS.maxResultBytes).optional(),
});
export const JobOutputResult = z.object({
  job_id: JobId,
  stream: JobStream,
  status: JobStatus,
  content: z.string(),
  /** content is base64 (the bytes are not UTF-8). */
  binary: z.boolean().optional(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  size: z.number().int().nonnegative(),
  /** The job has ended and this page reaches the end of the stream. */
  eof: z.boolean(),
  next_offset: z.number().int().nonnegative(),
});

export const JobWaitParams = z.object({
  job_id: JobId,
  timeout: z.number().min(0).max(MAX_JOB_WAIT_S).default(30),
  /** Where the caller's reading stands: the answer carries the output after these offsets. */
  stdout_offset: z.number().int().nonnegative().default(0),
  stderr_offset: z.number().int().nonnegative().default(0),
});
export const JobWaitResult = JobInfo.extend({
  /** Output after the caller's offsets: the first bytes of it when it is long (job_output pages the rest). */
  stdout: z.string(),
  stderr: z.string(),
  stdout_next_offset: z.number().int().nonnegative(),
  stderr_next_offset: z.number().int().nonnegative(),
  /** Output past what `stdout`/`stderr` carry is left to read (job_output or the next job_wait). */
  more: z.boolean(),
});

export const JobCancelResult = z.object({
  job: JobInfo,
  /** stopped: no process of the group is left; unstopped: these pids survived KILL. */
  outcome: z.enum(['stopped', 'unstopped']),
  pids: z.array(z.number().int()),
});

export const JobListParams = z.object({ status: JobStatus.optional() });
export const JobListResult = z.object({ jobs: z.array(JobInfo).max(10_000) });

export const JobAckResult = z.object({ job_id: JobId, acked: z.boolean() });

export const JOB_METHODS = {
  job_run: { params: JobRunParams, result: JobRunResult },
  job_status: { params: ById, result: JobInfo },
  job_output: { params: JobOutputParams, result: JobOutputResult },
  job_wait: { params: JobWaitParams, result: JobWaitResult },
  job_cancel: { params: ById, result: JobCancelResult },
  job_list: { params: JobListParams, result: JobListResult },
  job_ack: { params: ById, result: JobAckResult },
} as const;
export type JobMethod = keyof typeof JOB_METHODS;
