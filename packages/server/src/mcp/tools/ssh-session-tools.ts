import {
  SshSessionCloseParams,
  SshSessionCommandParams,
  SshSessionOpenParams,
  SshSessionReadParams,
  SshSessionSendParams,
} from '@reach/protocol';
import { z } from 'zod';
import { defineTool } from '../tool.ts';
import { capText } from './cap-text.ts';
import { ClientRef, callAgent } from './client-ref.ts';

/**
 * Persistent SSH sessions the client opens onward to hosts in its network. The agent does the
 * work; these tools validate, apply the client's rate limits and forward. Passwords travel to
 * the agent only and are never logged.
 */
const OPEN_TIMEOUT_MS = 60_000;
const QUICK_TIMEOUT_MS = 30_000;
const COMMAND_GRACE_MS = 5_000;

const ref = { client_id: ClientRef.optional() };

export const sshSessionTools = [
  defineTool({
    name: 'ssh_session_open',
    description: 'Open a persistent SSH shell from the client to a host in its network.',
    input: z
      .object({ ...SshSessionOpenParams.shape, client_id: ClientRef.optional() })
      .refine((v) => (v.password === undefined) !== (v.key_file === undefined), {
        message: 'give exactly one of password or key_file',
      }),
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'ssh_session_open', params, OPEN_TIMEOUT_MS),
  }),
  defineTool({
    name: 'ssh_session_command',
    description: 'Run a command in a session; returns its output and exit code.',
    input: SshSessionCommandParams.extend(ref),
    handler: async ({ client_id, ...params }, ctx) => {
      const r = await callAgent(
        client_id,
        ctx,
        'ssh_session_command',
        params,
        params.timeout * 1000 + COMMAND_GRACE_MS,
      );
      // A session buffers up to 1 M characters of output: past the result cap keep head and tail.
      const capped = capText(r.output, ctx.services.maxResultBytes);
      return capped.cut ? { ...r, output: capped.text, truncated: true, output_chars: r.output.length } : r;
    },
  }),
  defineTool({
    name: 'ssh_session_send',
    description: 'Send text (e.g. a prompt answer) to a session.',
    input: SshSessionSendParams.extend(ref),
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'ssh_session_send', params, QUICK_TIMEOUT_MS),
  }),
  defineTool({
    name: 'ssh_session_read',
    description: 'Read pending output of a session, waiting up to timeout seconds.',
    input: SshSessionReadParams.extend(ref),
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'ssh_session_read', params, params.timeout * 1000 + QUICK_TIMEOUT_MS),
  }),
  defineTool({
    name: 'ssh_session_list',
    description: "List the client's open SSH sessions.",
    input: z.object({ client_id: ClientRef.optional() }),
    handler: ({ client_id }, ctx) => callAgent(client_id, ctx, 'ssh_session_list', {}, QUICK_TIMEOUT_MS),
  }),
  defineTool({
    name: 'ssh_session_close',
    description: 'Close an SSH session.',
    input: SshSessionCloseParams.extend(ref),
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'ssh_session_close', params, QUICK_TIMEOUT_MS),
  }),
  defineTool({
    name: 'ssh_session_restore',
    description: 'Reopen key-authenticated sessions saved before a client restart.',
    input: z.object({ client_id: ClientRef.optional() }),
    handler: ({ client_id }, ctx) =>
      callAgent(client_id, ctx, 'ssh_session_restore', {}, OPEN_TIMEOUT_MS * 2),
  }),
];
