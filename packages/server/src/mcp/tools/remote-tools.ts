import { AbsolutePath, LIMITS } from '@reach/protocol';
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

export const remoteTools = [
  defineTool({
    name: 'run_command',
    description: 'Run a shell command on the client.',
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
      shell: z.enum(['cmd', 'powershell']).optional().describe('Windows clients only'),
      client_id: ClientRef.optional(),
    }),
    handler: ({ client_id, ...params }, ctx) =>
      withClient(client_id, ctx, async (client) => {
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
    description: 'Read a file (≤10 MiB); non-UTF-8 comes back base64 with binary:true.',
    input: z.object({ path: Path, client_id: ClientRef.optional() }),
    handler: ({ client_id, path }, ctx) =>
      callAgent(client_id, ctx, 'read_file', { path }, FILE_CALL_TIMEOUT_MS),
  }),

  defineTool({
    name: 'write_file',
    description: 'Write a file atomically, creating parents; binary:true means content is base64.',
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
