import { AbsolutePath, LIMITS, OutputStream } from '@reach/protocol';
import { z } from 'zod';
import { defineTool } from '../tool.ts';
import { ClientRef, callAgent, withClient } from './client-ref.ts';

/** Grace past a command's own timeout for the agent's COMMAND_TIMEOUT (with partial output) to arrive. */
const COMMAND_DEADLINE_GRACE_MS = 5_000;
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
  .describe('cap on the text returned, in JSON bytes (default 256 KiB, server --max-result-bytes)');

/** Paging of read_file / read_output: a byte range, cut to the result cap. */
const Page = {
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0).describe('first byte'),
  length: z
    .number()
    .int()
    .min(1)
    .max(LIMITS.maxResultBytes)
    .optional()
    .describe('bytes wanted (default and ceiling: the result cap)'),
  max_output_bytes: MaxOutputBytes.optional(),
};

export const remoteTools = [
  defineTool({
    name: 'run_command',
    description:
      'Run a shell command on the client. Output past the result cap (256 KiB by default) keeps its ' +
      'head and tail with truncated:true, the full sizes in stdout_bytes/stderr_bytes, and an ' +
      'output_id: read_output pages the whole output (kept on the client for an hour).',
    input: z.object({
      cmd: z.string().min(1).max(LIMITS.maxCommandChars),
      cwd: Path.optional(),
      timeout: z
        .number()
        .min(LIMITS.minCommandTimeoutS)
        .max(LIMITS.maxCommandTimeoutS)
        .default(LIMITS.defaultCommandTimeoutS)
        .describe('seconds'),
      env: z.record(z.string().max(256), z.string().max(32_768)).optional(),
      max_output_bytes: MaxOutputBytes.optional(),
      client_id: ClientRef.optional(),
    }),
    handler: ({ client_id, max_output_bytes, ...rest }, ctx) =>
      withClient(client_id, ctx, async (client) => {
        const params = { ...rest, max_output_bytes: max_output_bytes ?? ctx.services.maxResultBytes };
        const started = Date.now();
        const ticker = setInterval(() => {
          const elapsed = Math.round((Date.now() - started) / 1000);
          ctx.progress(elapsed, params.timeout, `running for ${elapsed} s`);
        }, PROGRESS_INTERVAL_MS);
        try {
          return await ctx.services.clients.call(client.uuid, 'run_command', params, {
            signal: ctx.signal,
            timeoutMs: params.timeout * 1000 + COMMAND_DEADLINE_GRACE_MS,
          });
        } finally {
          clearInterval(ticker);
        }
      }),
  }),

  defineTool({
    name: 'read_file',
    description:
      'Read a page of a file: length bytes from offset (default: up to the result cap, 256 KiB). ' +
      'Returns {content, size, offset, length, eof}; non-UTF-8 comes back base64 with binary:true. ' +
      'Any size pages: read on from offset+length until eof.',
    input: z.object({ path: Path, ...Page, client_id: ClientRef.optional() }),
    handler: ({ client_id, max_output_bytes, ...params }, ctx) =>
      callAgent(
        client_id,
        ctx,
        'read_file',
        { ...params, max_bytes: max_output_bytes ?? ctx.services.maxResultBytes },
        FILE_CALL_TIMEOUT_MS,
      ),
  }),

  defineTool({
    name: 'read_output',
    description:
      "Read a page of a command's whole output by the output_id run_command returned when it cut " +
      'the output; paged like read_file. Kept on the client for an hour (256 MiB in all, 64 MiB a stream).',
    input: z.object({
      output_id: z.uuid(),
      stream: OutputStream.default('stdout'),
      ...Page,
      client_id: ClientRef.optional(),
    }),
    handler: ({ client_id, max_output_bytes, ...params }, ctx) =>
      callAgent(
        client_id,
        ctx,
        'read_output',
        { ...params, max_bytes: max_output_bytes ?? ctx.services.maxResultBytes },
        FILE_CALL_TIMEOUT_MS,
      ),
  }),

  defineTool({
    name: 'write_file',
    description:
      'Write a file atomically, creating parents; binary:true means content is base64. Over HTTP the ' +
      'MCP request body is capped at 4 MiB, so content up to about 4 MiB of text or 3 MiB of binary ' +
      '(base64) arrives; for anything larger use upload_file.',
    input: z.object({
      path: Path,
      content: z.string().max(Math.ceil((LIMITS.maxFileBytes * 4) / 3) + 4),
      binary: z.boolean().default(false),
      client_id: ClientRef.optional(),
    }),
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'write_file', params, FILE_CALL_TIMEOUT_MS),
  }),

  defineTool({
    name: 'list_files',
    description: 'List a directory: name, type, size, mode, mtime.',
    input: z.object({ path: Path, client_id: ClientRef.optional() }),
    handler: ({ client_id, path }, ctx) =>
      callAgent(client_id, ctx, 'list_files', { path }, FILE_CALL_TIMEOUT_MS),
  }),

  defineTool({
    name: 'get_client_metrics',
    description: 'CPU, memory, disk, network, uptime; summary:true for four numbers.',
    input: z.object({ summary: z.boolean().default(false), client_id: ClientRef.optional() }),
    handler: ({ client_id, summary }, ctx) =>
      callAgent(client_id, ctx, 'get_metrics', { summary }, FILE_CALL_TIMEOUT_MS),
  }),
];
