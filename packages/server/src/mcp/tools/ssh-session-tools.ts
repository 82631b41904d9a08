import {
  SshSessionCloseParams,
  SshSessionCommandParams,
  SshSessionOpenParams,
  SshSessionReadParams,
  SshSessionSendParams,
} from '@reach/protocol';
import { z } from 'zod';
import { summarizeSecretText } from '../../audit/secret-prompt.ts';
import { defineTool } from '../tool.ts';
import { capText } from './cap-text.ts';
import { ClientRef, callAgent, targetClient } from './client-ref.ts';

/**
 * Persistent SSH sessions the client opens onward to hosts in its network. The agent does the
 * work; these tools validate, apply the client's rate limits and forward. Passwords travel to
 * the agent only and are never logged. The output of `ssh_session_read` and
 * `ssh_session_command` is watched for a password prompt, so the text `ssh_session_send` types
 * at one reaches the audit trail only as its length and hash.
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
      const result = await callAgent(
        client_id,
        ctx,
        'ssh_session_command',
        params,
        params.timeout * 1000 + COMMAND_GRACE_MS,
      );
      if (ctx.touchedClient) ctx.services.prompts.saw(ctx.touchedClient, params.session_id, result.output);
      // A session buffers up to 1 M characters of output: past the result cap keep head and tail.
      const capped = capText(result.output, ctx.services.maxResultBytes);
      return capped.cut
        ? { ...result, output: capped.text, truncated: true, output_chars: result.output.length }
        : result;
    },
  }),
  defineTool({
    name: 'ssh_session_send',
    description:
      'Send text (e.g. a prompt answer) to a session. Set sensitive for a secret; after a password prompt it is implied.',
    input: SshSessionSendParams.extend({
      ...ref,
      sensitive: z.boolean().default(false).describe('audit only its length and hash'),
    }),
    handler: ({ client_id, sensitive, ...params }, ctx) => {
      // Hashed until shown otherwise: a failure before the client resolves records no text either.
      const hashed = { ...params, client_id, sensitive, text: summarizeSecretText(params.text) };
      ctx.auditArgs = hashed;
      const { client } = targetClient(client_id, ctx);
      const secret = sensitive || ctx.services.prompts.awaitsSecret(client.uuid, params.session_id);
      ctx.auditArgs = secret ? hashed : undefined;
      return callAgent(client.uuid, ctx, 'ssh_session_send', params, QUICK_TIMEOUT_MS);
    },
    // A malformed call may still carry a password: keep only the text's length and hash.
    auditInvalid: (raw) => {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
      const { text, ...rest } = raw as Record<string, unknown>;
      return typeof text === 'string' ? { ...rest, text: summarizeSecretText(text) } : rest;
    },
  }),
  defineTool({
    name: 'ssh_session_read',
    description: 'Read pending output of a session, waiting up to timeout seconds.',
    input: SshSessionReadParams.extend(ref),
    handler: async ({ client_id, ...params }, ctx) => {
      const result = await callAgent(
        client_id,
        ctx,
        'ssh_session_read',
        params,
        params.timeout * 1000 + QUICK_TIMEOUT_MS,
      );
      if (ctx.touchedClient) ctx.services.prompts.saw(ctx.touchedClient, params.session_id, result.stdout);
      return result;
    },
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
