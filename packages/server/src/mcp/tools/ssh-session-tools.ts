import {
  SshSessionCloseParams,
  SshSessionCommandParams,
  SshSessionCommandResult,
  SshSessionOpenParams,
  SshSessionReadParams,
  SshSessionSendParams,
} from '@reach/protocol';
import { z } from 'zod';
import { summarizeSecretText } from '../../audit/secret-prompt.ts';
import { ClientRef, callAgent, targetClient } from '../../operations/client-ref.ts';
import { defineTool } from '../../operations/operation-definition.ts';
import { capText } from './cap-text.ts';
import { AutoSelectedClient, LINK_ERRORS, relayed } from './result-schemas.ts';

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

/** The agent's reply, cut to the result cap: `output_chars` then says how long the output was. */
const SshCommandResult = SshSessionCommandResult.extend({
  output_chars: z.number().int().nonnegative().optional(),
  auto_selected_client: AutoSelectedClient.optional(),
});

export const sshSessionTools = [
  defineTool({
    name: 'ssh_session_open',
    description: 'Open a persistent SSH shell from the client to a host in its network.',
    input: z
      .object({ ...SshSessionOpenParams.shape, client_id: ClientRef.optional() })
      .refine((v) => (v.password === undefined) !== (v.key_file === undefined), {
        message: 'give exactly one of password or key_file',
      }),
    result: relayed('ssh_session_open'),
    errors: [
      ...LINK_ERRORS,
      'SSH_AUTH_FAILED',
      'SSH_CONNECTION_FAILED',
      'SSH_KEY_NOT_FOUND',
      'SSH_HOST_KEY_MISMATCH',
      'SSH_JUMP_HOST_ERROR',
      'PATH_DENIED',
      'FILE_TOO_LARGE',
    ],
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'ssh_session_open', params, OPEN_TIMEOUT_MS),
  }),
  defineTool({
    name: 'ssh_session_command',
    description: 'Run a command in a session; returns its output and exit code.',
    input: SshSessionCommandParams.extend(ref),
    result: SshCommandResult,
    errors: [...LINK_ERRORS, 'SSH_SESSION_NOT_FOUND', 'SSH_COMMAND_TIMEOUT'],
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
    result: relayed('ssh_session_send'),
    errors: [...LINK_ERRORS, 'SSH_SESSION_NOT_FOUND', 'SSH_SESSION_SEND_ERROR'],
    handler: async ({ client_id, sensitive, ...params }, ctx) => {
      // Hashed until shown otherwise: a failure before the client resolves records no text either.
      const hashed = { ...params, client_id, sensitive, text: summarizeSecretText(params.text) };
      ctx.auditArgs = hashed;
      const { client, auto } = targetClient(client_id, ctx);
      const secret = sensitive || ctx.services.prompts.awaitsSecret(client.uuid, params.session_id);
      ctx.auditArgs = secret ? hashed : undefined;
      const result = await callAgent(client.uuid, ctx, 'ssh_session_send', params, QUICK_TIMEOUT_MS);
      // Called by uuid, callAgent sees no auto selection: say here which client was used.
      return auto === undefined ? result : { ...result, auto_selected_client: auto };
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
    result: relayed('ssh_session_read'),
    errors: [...LINK_ERRORS, 'SSH_SESSION_NOT_FOUND'],
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
    result: relayed('ssh_session_list'),
    errors: [...LINK_ERRORS],
    handler: ({ client_id }, ctx) => callAgent(client_id, ctx, 'ssh_session_list', {}, QUICK_TIMEOUT_MS),
  }),
  defineTool({
    name: 'ssh_session_close',
    description: 'Close an SSH session.',
    input: SshSessionCloseParams.extend(ref),
    result: relayed('ssh_session_close'),
    errors: [...LINK_ERRORS, 'SSH_SESSION_NOT_FOUND'],
    handler: ({ client_id, ...params }, ctx) =>
      callAgent(client_id, ctx, 'ssh_session_close', params, QUICK_TIMEOUT_MS),
  }),
  defineTool({
    name: 'ssh_session_restore',
    description: 'Reopen key-authenticated sessions saved before a client restart.',
    input: z.object({ client_id: ClientRef.optional() }),
    result: relayed('ssh_session_restore'),
    errors: [...LINK_ERRORS, 'SSH_SESSION_RESTORE_ERROR'],
    handler: ({ client_id }, ctx) =>
      callAgent(client_id, ctx, 'ssh_session_restore', {}, OPEN_TIMEOUT_MS * 2),
  }),
];
