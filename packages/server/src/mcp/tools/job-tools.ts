import {
  JOB_METHODS,
  JobStatus,
  JobStream,
  LIMITS,
  type LinkMethod,
  MAX_JOB_WAIT_S,
  ReachError,
} from '@reach/protocol';
import { z } from 'zod';
import { everyPage } from '../../jobs/fanout-select.ts';
import { ClientRef, withClient } from '../../operations/client-ref.ts';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';
import { FanoutResult, FanoutRowsResult, fanoutRows, fanoutView } from './fanout-view.ts';
import { isFanoutId, parseToolJobId, ToolJobId, withToolJobIds } from './job-ids.ts';
import { LINK_ERRORS } from './result-schemas.ts';

/** Deadline of the quick job calls (status, output, list); cancel gets INT, TERM and KILL's graces. */
const JOB_CALL_TIMEOUT_MS = 30_000;
/** Clients asked at once by a job_list across the fleet. */
const LIST_PARALLEL = 16;

const JOB_ERRORS = [...LINK_ERRORS, 'JOB_NOT_FOUND', 'INVALID_ARGUMENT'] as const;

/** The fan-out a `fan-…` id names (kept in this server's memory for an hour). */
function fanout(ctx: ToolContext, id: string) {
  if (!ctx.services.fanouts) throw new ReachError('JOB_NOT_FOUND', `no fan-out ${id} on this server`);
  return ctx.services.fanouts.get(id);
}

/** The tool-facing shape of a job method's result: job ids as `job-…@<uuid>`. */
const tooled = (schema: z.ZodObject) => schema.extend({ job_id: ToolJobId });

/** Calls a job method on the client the job id names, and names the job ids for the tools. */
async function onJobClient<M extends LinkMethod>(
  ctx: ToolContext,
  jobId: string,
  method: M,
  params: Record<string, unknown>,
  timeoutMs: number,
) {
  const { uuid, job } = parseToolJobId(jobId);
  return withClient(uuid, ctx, async (client) =>
    withToolJobIds(
      client.uuid,
      await ctx.services.clients.call(client.uuid, method, { ...params, job_id: job } as never, {
        signal: ctx.signal,
        timeoutMs,
      }),
    ),
  );
}

export const jobTools = [
  defineTool({
    name: 'job_status',
    description: 'A job run_command left running: status, exit_code, times, output sizes.',
    input: z.object({ job_id: ToolJobId }),
    result: z.union([tooled(JOB_METHODS.job_status.result), FanoutResult]),
    errors: [...JOB_ERRORS],
    handler: ({ job_id }, ctx) =>
      isFanoutId(job_id)
        ? Promise.resolve(fanoutView(fanout(ctx, job_id)))
        : onJobClient(ctx, job_id, 'job_status', {}, JOB_CALL_TIMEOUT_MS),
  }),

  defineTool({
    name: 'job_output',
    description: "Page a job's whole stdout or stderr: limit bytes from offset; next_offset, eof.",
    input: z.object({
      job_id: ToolJobId,
      stream: JobStream.default('stdout'),
      offset: z.number().int().nonnegative().default(0),
      limit: z.number().int().min(1).max(LIMITS.maxResultBytes).optional(),
    }),
    result: z.union([tooled(JOB_METHODS.job_output.result), FanoutRowsResult]),
    errors: [...JOB_ERRORS],
    handler: ({ job_id, limit, ...rest }, ctx) =>
      isFanoutId(job_id)
        ? Promise.resolve({
            job_id,
            ...fanoutRows(fanout(ctx, job_id), rest.offset, Math.min(limit ?? 200, 1000)),
          })
        : onJobClient(
            ctx,
            job_id,
            'job_output',
            {
              ...rest,
              ...(limit === undefined ? {} : { limit }),
              max_bytes: Math.max(LIMITS.minResultBytes, limit ?? ctx.services.maxResultBytes),
            },
            JOB_CALL_TIMEOUT_MS,
          ),
  }),

  defineTool({
    name: 'job_wait',
    description:
      'Wait for a job to end, up to timeout s (≤50); returns status and the output after your ' +
      'offsets (pass back stdout_next_offset/stderr_next_offset).',
    input: z.object({
      job_id: ToolJobId,
      timeout: z.number().min(0).max(MAX_JOB_WAIT_S).default(30).describe('seconds'),
      stdout_offset: z.number().int().nonnegative().default(0),
      stderr_offset: z.number().int().nonnegative().default(0),
    }),
    result: z.union([tooled(JOB_METHODS.job_wait.result), FanoutResult]),
    errors: [...JOB_ERRORS],
    handler: async ({ job_id, ...rest }, ctx) => {
      if (isFanoutId(job_id)) {
        const f = fanout(ctx, job_id);
        await f.wait(rest.timeout * 1000, ctx.signal);
        return fanoutView(f);
      }
      const started = Date.now();
      const ticker = setInterval(() => {
        const s = Math.round((Date.now() - started) / 1000);
        ctx.progress(s, rest.timeout, `waiting for ${s} s`);
      }, 1000);
      return onJobClient(ctx, job_id, 'job_wait', rest, rest.timeout * 1000 + JOB_CALL_TIMEOUT_MS).finally(
        () => clearInterval(ticker),
      );
    },
  }),

  defineTool({
    name: 'job_cancel',
    description:
      "Stop a job's whole process group (INT, TERM, KILL): outcome stopped, unstopped (pids), or " +
      'unknown when its client is offline (sent when it is back).',
    input: z.object({ job_id: ToolJobId }),
    result: z.union([
      JOB_METHODS.job_cancel.result.extend({ job: tooled(JOB_METHODS.job_status.result) }),
      z.object({ job_id: ToolJobId, outcome: z.literal('unknown'), reason: z.string(), queued: z.boolean() }),
      FanoutResult,
    ]),
    errors: [...JOB_ERRORS],
    handler: async ({ job_id }, ctx) => {
      if (isFanoutId(job_id)) {
        const f = fanout(ctx, job_id);
        await f.cancel();
        await f.wait(JOB_CALL_TIMEOUT_MS, ctx.signal);
        return fanoutView(f);
      }
      const { uuid, job } = parseToolJobId(job_id);
      const client = ctx.services.clients.resolve(uuid);
      if (!client.online && ctx.services.jobCancels) {
        const { queued } = ctx.services.jobCancels.add(client.uuid, job);
        return {
          job_id,
          outcome: 'unknown' as const,
          reason: `client ${client.display_name || client.uuid} is offline`,
          queued,
        };
      }
      return onJobClient(ctx, job_id, 'job_cancel', {}, JOB_CALL_TIMEOUT_MS);
    },
  }),

  defineTool({
    name: 'job_list',
    description: 'Jobs kept by one client, or by every online client when client_id is absent.',
    input: z.object({ client_id: ClientRef.optional(), status: JobStatus.optional() }),
    result: z.object({
      jobs: z.array(tooled(JOB_METHODS.job_status.result).extend({ client: z.string() })),
      errors: z.array(z.object({ client: z.string(), error: z.string() })),
    }),
    errors: [...JOB_ERRORS],
    handler: async ({ client_id, status }, ctx) => {
      const params = status === undefined ? {} : { status };
      const targets =
        client_id === undefined
          ? everyPage(ctx.services.clients, { filter: { capabilities: ['jobs'] }, online_only: true }).map(
              (c) => c.uuid,
            )
          : [ctx.services.clients.resolveOnline(client_id).uuid];
      const jobs: Record<string, unknown>[] = [];
      const errors: { client: string; error: string }[] = [];
      for (let i = 0; i < targets.length; i += LIST_PARALLEL) {
        await Promise.all(
          targets.slice(i, i + LIST_PARALLEL).map(async (uuid) => {
            try {
              const r = await ctx.services.clients.call(uuid, 'job_list', params, {
                signal: ctx.signal,
                timeoutMs: JOB_CALL_TIMEOUT_MS,
              });
              for (const j of r.jobs) jobs.push({ ...withToolJobIds(uuid, j), client: uuid });
            } catch (err) {
              errors.push({ client: uuid, error: err instanceof ReachError ? err.code : 'INTERNAL_ERROR' });
            }
          }),
        );
      }
      return { jobs, errors };
    },
  }),
];
