import {
  AbsolutePath,
  LIMITS,
  MAX_JOB_WAIT_S,
  OutputStream,
  ReachError,
  RunningJobResult,
} from '@reach/protocol';
import { z } from 'zod';
import { ClientRef, callAgent, withClient } from '../../operations/client-ref.ts';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';
import { ToolJobId, toolJobId, withToolJobIds } from './job-ids.ts';
import { IdempotencyKey, operationId } from './operation-tools.ts';
import { AutoSelectedClient, LINK_ERRORS, relayed } from './result-schemas.ts';

/** Grace past a command's own timeout for the agent's COMMAND_TIMEOUT (with partial output) to arrive. */
const COMMAND_DEADLINE_GRACE_MS = 5_000;
/**
 * How long run_command waits before answering with a running job: under the 60 s after which the
 * MCP SDK's default request timeout and Claude Code cut a tool call off, with room for the answer.
 */
const DEFAULT_WAIT_S = 25;
/** How often a running command reports progress to a caller that asked for it. */
const PROGRESS_INTERVAL_MS = 1_000;
/** Deadline of the quick file and metrics calls. */
const FILE_CALL_TIMEOUT_MS = 60_000;

const Path = AbsolutePath.describe('absolute path on the client');

/** A call's own result cap, up to the 8 MiB server maximum; default: the server's --max-result-bytes. */
const MaxOutputBytes = z
  .number()
  .int()
  .min(LIMITS.minResultBytes)
  .max(LIMITS.maxResultBytes)
  .describe('result cap, JSON bytes');

/**
 * Paging of read_file / read_output: `length` bytes from `offset`. A page's JSON is at most
 * `length` (up to the 8 MiB maximum) or, without it, the server's result cap.
 */
const Page = {
  offset: z.number().int().nonnegative().default(0),
  length: z.number().int().min(1).max(LIMITS.maxResultBytes).optional(),
};

/** The agent's page request: the JSON cap is the asked length, else the server's result cap. */
function pageOf<P extends { length?: number | undefined }>(params: P, ctx: ToolContext) {
  return {
    ...params,
    max_bytes: Math.max(LIMITS.minResultBytes, params.length ?? ctx.services.maxResultBytes),
  };
}

/** run_command's agent parameters, as a call and as a task. */
function commandParams<R extends object>(
  rest: R,
  maxOutputBytes: number | undefined,
  idempotencyKey: string | undefined,
  ctx: ToolContext,
) {
  return {
    ...rest,
    max_output_bytes: maxOutputBytes ?? ctx.services.maxResultBytes,
    operation_id: operationId(idempotencyKey, ctx),
  };
}

export const remoteTools = [
  defineTool({
    name: 'run_command',
    description:
      'Run a shell command on the client. Past the result cap (256 KiB) stdout/stderr keep head and ' +
      'tail: truncated:true, stdout_bytes/stderr_bytes, output_id for read_output. Still running ' +
      'after wait s: returns {job_id, status:"running"}; it goes on (job_wait, job_output, job_cancel).',
    input: z.object({
      cmd: z.string().min(1).max(LIMITS.maxCommandChars),
      cwd: Path.optional(),
      timeout: z
        .number()
        .min(LIMITS.minCommandTimeoutS)
        .max(LIMITS.maxCommandTimeoutS)
        .default(LIMITS.defaultCommandTimeoutS)
        .describe('seconds'),
      wait: z.number().min(0).max(MAX_JOB_WAIT_S).default(DEFAULT_WAIT_S).describe('seconds; 0: start a job'),
      env: z.record(z.string().max(256), z.string().max(32_768)).optional(),
      max_output_bytes: MaxOutputBytes.optional(),
      shell: z.enum(['cmd', 'powershell']).optional().describe('Windows clients only'),
      client_id: ClientRef.optional(),
      idempotency_key: IdempotencyKey.optional(),
    }),
    result: z.union([
      relayed('run_command'),
      RunningJobResult.extend({ job_id: ToolJobId, auto_selected_client: AutoSelectedClient.optional() }),
    ]),
    errors: [...LINK_ERRORS, 'COMMAND_TIMEOUT', 'PATH_DENIED', 'FILE_NOT_FOUND', 'PERMISSION_DENIED'],
    handler: ({ client_id, max_output_bytes, idempotency_key, wait, ...rest }, ctx) =>
      withClient(client_id, ctx, async (client) => {
        const params = commandParams(rest, max_output_bytes, idempotency_key, ctx);
        // A client without jobs (older, or Windows) runs it as before: the call lasts the command.
        const asJob = wait < params.timeout && client.capabilities.includes('jobs');
        const started = Date.now();
        const total = asJob ? wait : params.timeout;
        const ticker = setInterval(() => {
          const elapsed = Math.round((Date.now() - started) / 1000);
          ctx.progress(elapsed, total, `running for ${elapsed} s`);
        }, PROGRESS_INTERVAL_MS);
        try {
          if (!asJob) {
            return await ctx.services.clients.call(client.uuid, 'run_command', params, {
              signal: ctx.signal,
              timeoutMs: params.timeout * 1000 + COMMAND_DEADLINE_GRACE_MS,
            });
          }
          const result = await ctx.services.clients.call(
            client.uuid,
            'job_run',
            { ...params, wait, caller: ctx.caller },
            { signal: ctx.signal, timeoutMs: wait * 1000 + COMMAND_DEADLINE_GRACE_MS },
          );
          if ('job_id' in result) ctx.services.jobWatch?.watch(client.uuid, result.job_id);
          return withToolJobIds(client.uuid, result);
        } finally {
          clearInterval(ticker);
        }
      }),
    // As a task the command is a job from the start (wait 0); `wait` does not apply.
    startTask: ({ client_id, max_output_bytes, idempotency_key, wait: _wait, ...rest }, ctx) =>
      withClient(client_id, ctx, async (client) => {
        if (!client.capabilities.includes('jobs')) {
          throw new ReachError(
            'INVALID_ARGUMENT',
            `client ${client.display_name || client.uuid} keeps no jobs`,
            {
              recoveryHint: 'call run_command without a task: this client (Windows or older) has no jobs',
            },
          );
        }
        const params = commandParams(rest, max_output_bytes, idempotency_key, ctx);
        const result = await ctx.services.clients.call(
          client.uuid,
          'job_run',
          { ...params, wait: 0, caller: ctx.caller },
          { signal: ctx.signal, timeoutMs: COMMAND_DEADLINE_GRACE_MS },
        );
        if (!('job_id' in result))
          throw new ReachError('INTERNAL_ERROR', 'job_run with wait 0 answered no job');
        ctx.services.jobWatch?.watch(client.uuid, result.job_id);
        return toolJobId(client.uuid, result.job_id);
      }),
  }),

  defineTool({
    name: 'read_file',
    description:
      'Read a file page: length bytes from offset (default: the 256 KiB cap) as {content, size, ' +
      'offset, length, eof}; non-UTF-8 is base64 with binary:true.',
    input: z.object({ path: Path, ...Page, client_id: ClientRef.optional() }),
    result: relayed('read_file'),
    errors: [...LINK_ERRORS, 'FILE_NOT_FOUND', 'FILE_TOO_LARGE', 'PATH_DENIED', 'PERMISSION_DENIED'],
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'read_file', pageOf(params, ctx), FILE_CALL_TIMEOUT_MS),
  }),

  defineTool({
    name: 'read_output',
    description: "Page a truncated run_command's whole output by its output_id, like read_file (kept 1 h).",
    input: z.object({
      // The agent checks the UUID form; z.uuid() would add a 160-byte pattern to tools/list.
      output_id: z.string().length(36),
      stream: OutputStream.default('stdout'),
      ...Page,
      client_id: ClientRef.optional(),
    }),
    result: relayed('read_output'),
    errors: [...LINK_ERRORS, 'FILE_NOT_FOUND'],
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'read_output', pageOf(params, ctx), FILE_CALL_TIMEOUT_MS),
  }),

  defineTool({
    name: 'write_file',
    description:
      'Write a file atomically, creating parents; binary:true: content is base64. ≤10 MiB, but ' +
      'Streamable HTTP bodies stop at 4 MiB (~3 MiB binary): use upload_file past that.',
    input: z.object({
      path: Path,
      content: z.string().max(Math.ceil((LIMITS.maxFileBytes * 4) / 3) + 4),
      binary: z.boolean().default(false),
      client_id: ClientRef.optional(),
      idempotency_key: IdempotencyKey.optional(),
    }),
    result: relayed('write_file'),
    errors: [...LINK_ERRORS, 'FILE_NOT_FOUND', 'PATH_DENIED', 'PERMISSION_DENIED', 'TRANSFER_FAILED'],
    handler: ({ client_id, idempotency_key, ...params }, ctx) =>
      callAgent(
        client_id,
        ctx,
        'write_file',
        { ...params, operation_id: operationId(idempotency_key, ctx) },
        FILE_CALL_TIMEOUT_MS,
      ),
  }),

  defineTool({
    name: 'list_files',
    description: 'List a directory: name, type, size, mode, mtime.',
    input: z.object({ path: Path, client_id: ClientRef.optional() }),
    result: relayed('list_files'),
    errors: [...LINK_ERRORS, 'FILE_NOT_FOUND', 'PATH_DENIED', 'PERMISSION_DENIED'],
    handler: ({ client_id, path }, ctx) =>
      callAgent(client_id, ctx, 'list_files', { path }, FILE_CALL_TIMEOUT_MS),
  }),

  defineTool({
    name: 'get_client_metrics',
    description: 'CPU, memory, disk, network, uptime; summary:true for four numbers.',
    input: z.object({ summary: z.boolean().default(false), client_id: ClientRef.optional() }),
    result: relayed('get_metrics'),
    errors: [...LINK_ERRORS],
    handler: ({ client_id, summary }, ctx) =>
      callAgent(client_id, ctx, 'get_metrics', { summary }, FILE_CALL_TIMEOUT_MS),
  }),
];
