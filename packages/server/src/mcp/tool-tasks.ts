import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  type CallToolResult,
  CancelTaskRequestSchema,
  ErrorCode,
  GetTaskPayloadRequestSchema,
  GetTaskRequestSchema,
  McpError,
  RELATED_TASK_META_KEY,
  type Task,
} from '@modelcontextprotocol/sdk/types.js';
import { JobStatus, MAX_JOB_WAIT_S, ReachError, toReachError, toRpcError } from '@reach/protocol';
import { z } from 'zod';
import type { Fanout } from '../jobs/fanout.ts';
import type { ToolContext, ToolDefinition } from '../operations/operation-definition.ts';
import { fanoutView } from './tools/fanout-view.ts';
import { isFanoutId, ToolJobId } from './tools/job-ids.ts';

/**
 * MCP Tasks (spec 2025-11-25, experimental) mapped onto Reach's jobs. The task id *is* the job id
 * (`job-<16 hex>@<uuid>` for run_command, `fan-<16 hex>` for run_on_clients), so the server keeps
 * no task table: tasks/get is job_status, tasks/result is job_wait until the job ends, tasks/cancel
 * is job_cancel. A client job is found again after a server restart, like the job tools find it;
 * a fan-out lives in the server's memory (an hour, at most 64). Like the job tools, any session
 * that holds a job id can address its task. tasks/list is not offered (jobs have job_list).
 */

/** The server capability: task-augmented tools/call and tasks/cancel, no tasks/list. */
export const TASKS_CAPABILITY = { cancel: {}, requests: { tools: { call: {} } } };

/** Poll interval asked of requestors: each tasks/get of a job is one job_status round trip to its client. */
const POLL_INTERVAL_MS = 2_000;
/** FanoutStore keeps a fan-out an hour; a client job has no time limit (only its size caps prune it). */
const FANOUT_TTL_MS = 3_600_000;

const JOB_TASK_STATUS = {
  running: 'working',
  exited: 'completed',
  // run_command answers these with an isError result, which the spec calls a failed tool call.
  timed_out: 'failed',
  lost: 'failed',
  cancelled: 'cancelled',
} as const satisfies Record<z.infer<typeof JobStatus>, Task['status']>;

const JobView = z.object({
  status: JobStatus,
  exit_code: z.number().int().nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  elapsed_ms: z.number(),
  timeout_s: z.number().nullable(),
  stdout_bytes: z.number(),
  stderr_bytes: z.number(),
  cap_hit: z.boolean(),
});
type JobView = z.infer<typeof JobView>;
const JobWaitView = JobView.extend({
  stdout: z.string(),
  stderr: z.string(),
  stdout_next_offset: z.number(),
  stderr_next_offset: z.number(),
  more: z.boolean(),
});
const CancelView = z.union([
  z.object({ job: JobView }),
  z.object({ outcome: z.literal('unknown'), reason: z.string() }),
  z.object({ recap: z.string() }),
]);

const iso = (ms: number) => new Date(ms).toISOString();
const terminal = (s: Task['status']) => s === 'completed' || s === 'failed' || s === 'cancelled';

/** The task a task-augmented tools/call answers with, just after it started `id`. */
export function createdTask(id: string): Task {
  const now = iso(Date.now());
  return {
    taskId: id,
    status: 'working',
    ttl: isFanoutId(id) ? FANOUT_TTL_MS : null,
    createdAt: now,
    lastUpdatedAt: now,
    pollInterval: POLL_INTERVAL_MS,
  };
}

function jobTask(id: string, j: JobView): Task {
  return {
    taskId: id,
    status: JOB_TASK_STATUS[j.status],
    ttl: null,
    createdAt: j.started_at,
    lastUpdatedAt: j.ended_at ?? iso(Date.now()),
    pollInterval: POLL_INTERVAL_MS,
    statusMessage:
      j.status === 'running'
        ? `running for ${Math.round(j.elapsed_ms / 1000)} s; stdout ${j.stdout_bytes} B, stderr ${j.stderr_bytes} B`
        : j.status === 'exited'
          ? `exited with ${j.exit_code}`
          : j.status,
  };
}

function fanTask(f: Fanout): Task {
  return {
    taskId: f.id,
    status: f.running ? 'working' : f.cancelled ? 'cancelled' : 'completed',
    ttl: FANOUT_TTL_MS,
    createdAt: iso(f.startedAt),
    lastUpdatedAt: iso(f.endedAt ?? Date.now()),
    pollInterval: POLL_INTERVAL_MS,
    statusMessage: f.recap(),
  };
}

/** A tool call through the endpoint's own path (validation, audit trail); throws its ReachError. */
export type AuditedCall = (name: string, args: Record<string, unknown>, ctx: ToolContext) => Promise<unknown>;

/** Task-side answers built on the job tools, so their checks (offline cancels, fan-outs) apply. */
export class ToolTasks {
  readonly #tools: ReadonlyMap<string, ToolDefinition>;
  readonly #audited: AuditedCall;

  /**
   * `audited` runs a tool as tools/call does (validated, audited): for tasks/cancel, which stops
   * processes. tasks/get and tasks/result polls are not audited (one every 2 s per caller).
   */
  constructor(tools: ReadonlyMap<string, ToolDefinition>, audited: AuditedCall) {
    this.#tools = tools;
    this.#audited = audited;
  }

  /** Serves tasks/get, tasks/result and tasks/cancel on `server`, each with the context `ctxOf` gives. */
  register(server: Server, ctxOf: (signal: AbortSignal) => ToolContext): void {
    const answer =
      <T>(work: (id: string, ctx: ToolContext) => Promise<T>) =>
      async (request: { params: { taskId: string } }, extra: { signal: AbortSignal }) => {
        const id = request.params.taskId;
        try {
          if (!ToolJobId.safeParse(id).success) throw new ReachError('JOB_NOT_FOUND', `no task ${id}`);
          return await work(id, ctxOf(extra.signal));
        } catch (err) {
          throw taskError(id, err);
        }
      };
    server.setRequestHandler(
      GetTaskRequestSchema,
      answer((id, ctx) => this.get(id, ctx)),
    );
    server.setRequestHandler(
      GetTaskPayloadRequestSchema,
      answer(async (id, ctx) => {
        const result = await this.result(id, ctx);
        return { ...result, _meta: { [RELATED_TASK_META_KEY]: { taskId: id } } };
      }),
    );
    server.setRequestHandler(
      CancelTaskRequestSchema,
      answer((id, ctx) => this.cancel(id, ctx)),
    );
  }

  async get(id: string, ctx: ToolContext): Promise<Task> {
    if (isFanoutId(id)) return fanTask(fanoutOf(ctx, id));
    return jobTask(id, JobView.parse(await this.#job('job_status', { job_id: id }, ctx)));
  }

  /** What run_command / run_on_clients would have answered, once the job has ended (blocks until then). */
  async result(id: string, ctx: ToolContext): Promise<CallToolResult> {
    if (isFanoutId(id)) {
      const f = fanoutOf(ctx, id);
      while (f.running) {
        ctx.signal.throwIfAborted();
        await f.wait(MAX_JOB_WAIT_S * 1000, ctx.signal);
      }
      return text(fanoutView(f));
    }
    // Wait with offsets at the end of what was written, so the waits carry no output.
    const at = { stdout_offset: 0, stderr_offset: 0 };
    for (;;) {
      ctx.signal.throwIfAborted();
      const w = JobWaitView.parse(
        await this.#job('job_wait', { job_id: id, timeout: MAX_JOB_WAIT_S, ...at }, ctx),
      );
      if (w.status !== 'running') break;
      at.stdout_offset = w.stdout_bytes;
      at.stderr_offset = w.stderr_bytes;
    }
    const w = JobWaitView.parse(await this.#job('job_wait', { job_id: id, timeout: 0 }, ctx));
    // run_command's fields; past 128 KiB a stream carries its head only (truncated), and
    // job_output {job_id} pages the whole of it (a job's output has no output_id).
    const output = {
      stdout: w.stdout,
      stderr: w.stderr,
      duration_ms: w.elapsed_ms,
      truncated: w.more || w.cap_hit,
      stdout_bytes: w.stdout_bytes,
      stderr_bytes: w.stderr_bytes,
      job_id: id,
    };
    if (w.status === 'exited') return text({ ...output, returncode: w.exit_code ?? -1 });
    const err =
      w.status === 'timed_out'
        ? new ReachError('COMMAND_TIMEOUT', `command timed out after ${w.timeout_s} s`, {
            details: { ...output, timeout: w.timeout_s },
          })
        : w.status === 'cancelled'
          ? new ReachError('CANCELLED', 'command cancelled', { details: output })
          : new ReachError(
              'COMMAND_FAILED',
              'job lost: its client restarted and the process group was gone',
              {
                details: output,
              },
            );
    return { ...text(err.toJSON()), isError: true };
  }

  async cancel(id: string, ctx: ToolContext): Promise<Task> {
    const before = await this.get(id, ctx);
    // Spec: a task in a terminal status cannot be cancelled (-32602).
    if (terminal(before.status)) {
      throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task in terminal status: ${before.status}`);
    }
    const c = CancelView.parse(await this.#audited('job_cancel', { job_id: id }, ctx));
    if ('job' in c) return jobTask(id, c.job);
    if ('reason' in c)
      return { ...before, statusMessage: `cancel queued until the client is back: ${c.reason}` };
    return this.get(id, ctx);
  }

  async #job(name: string, args: Record<string, unknown>, ctx: ToolContext): Promise<unknown> {
    const tool = this.#tools.get(name);
    if (!tool) throw new ReachError('INTERNAL_ERROR', `${name} is not served`);
    return tool.handler(tool.input.parse(args), ctx);
  }
}

function fanoutOf(ctx: ToolContext, id: string): Fanout {
  if (!ctx.services.fanouts) throw new ReachError('JOB_NOT_FOUND', `no fan-out ${id} on this server`);
  return ctx.services.fanouts.get(id);
}

function text(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }] };
}

/** A task the id does not name is -32602 (spec); other failures keep Reach's code and data. */
function taskError(id: string, err: unknown): McpError {
  if (err instanceof McpError) return err;
  const e = toReachError(err);
  if (e.code === 'JOB_NOT_FOUND' || e.code === 'CLIENT_NOT_FOUND' || e.code === 'INVALID_ARGUMENT') {
    return new McpError(ErrorCode.InvalidParams, `Task not found: ${id}`, toRpcError(e).data);
  }
  const rpc = toRpcError(e);
  return new McpError(rpc.code, rpc.message, rpc.data);
}

/** A failure before a task exists is the tools/call's JSON-RPC error (there is no task to fail). */
export function taskCreationError(err: ReachError): McpError {
  const rpc = toRpcError(err);
  return new McpError(rpc.code, rpc.message, rpc.data);
}
