import { JobId, ReachError } from '@reach/protocol';
import { z } from 'zod';

/**
 * A job as the tools name it: the client's own job id and the client's UUID, `job-<16 hex>@<uuid>`.
 * The server keeps no job table: the id alone finds the client again, after a server restart too.
 */
export const ToolJobId = z
  .string()
  .max(80)
  .regex(
    /^(job-[0-9a-f]{16}@[0-9a-f-]{36}|fan-[0-9a-f]{16})$/,
    'a job id as run_command (job-<16 hex>@<client uuid>) or run_on_clients (fan-<16 hex>) returned it',
  )
  .describe('job_id from run_command or run_on_clients');

/** A run_on_clients job: kept by the server, not by one client. */
export const isFanoutId = (id: string) => id.startsWith('fan-');

export const toolJobId = (uuid: string, id: string) => `${id}@${uuid}`;

export function parseToolJobId(id: string): { uuid: string; job: string } {
  const at = id.indexOf('@');
  const job = id.slice(0, at);
  if (at < 0 || !JobId.safeParse(job).success) {
    throw new ReachError('INVALID_ARGUMENT', 'job_id: not a job id', {
      details: { job_id: id.slice(0, 80) },
    });
  }
  return { uuid: id.slice(at + 1), job };
}

/** `result` with its job ids (top level and `job.job_id`) named for the tools. */
export function withToolJobIds<T>(uuid: string, result: T): T {
  if (typeof result !== 'object' || result === null) return result;
  const r = { ...(result as Record<string, unknown>) };
  if (typeof r.job_id === 'string') r.job_id = toolJobId(uuid, r.job_id);
  const job = r.job as Record<string, unknown> | undefined;
  if (job && typeof job.job_id === 'string') r.job = { ...job, job_id: toolJobId(uuid, job.job_id) };
  return r as T;
}
