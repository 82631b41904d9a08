import { randomUUID } from 'node:crypto';
import { OperationId, OperationStatusResult, toReachError } from '@reach/protocol';
import { z } from 'zod';
import { ClientRef, withClient } from '../../operations/client-ref.ts';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';

/** The optional parameter every mutating tool takes. */
export const IdempotencyKey = OperationId.describe('retry key: runs once, a retry gets the result');

/** Deadline of asking a client what it knows of one operation. */
const STATUS_CALL_TIMEOUT_MS = 10_000;

/**
 * The operation id of one mutating call: the caller's key, or a fresh one. It is announced at
 * once in a progress notification (when the caller asked for progress), so a caller whose call
 * is cut off still knows what to ask `operation_status` about.
 */
export function operationId(key: string | undefined, ctx: ToolContext): string {
  const id = key ?? `op-${randomUUID()}`;
  ctx.progress(0, undefined, `operation_id ${id}`);
  return id;
}

/** What the journal of online client `uuid` says of `id`. */
export function clientStatus(uuid: string, id: string, ctx: ToolContext) {
  return ctx.services.clients.call(
    uuid,
    'operation_status',
    { operation_id: id },
    { signal: ctx.signal, timeoutMs: STATUS_CALL_TIMEOUT_MS },
  );
}

/**
 * Runs a transfer as operation `id` in the server's journal: a retry while it runs waits for it,
 * one after it replays the recorded result. An upload is renamed into place on the client, so a
 * keyed upload the server has no record of asks the client first and is not sent again when
 * the client's journal says it was applied.
 */
export async function runTransfer<T extends object>(
  id: string,
  keyed: boolean,
  op: 'upload_file' | 'download_file',
  clientUuid: string,
  ctx: ToolContext,
  work: () => Promise<T>,
): Promise<Record<string, unknown>> {
  const once = async (): Promise<Record<string, unknown>> => {
    if (keyed && op === 'upload_file') {
      const known = await clientStatus(clientUuid, id, ctx);
      if (known.status === 'applied') {
        return { ...(known.result as object), operation_id: id, replayed: true };
      }
    }
    return { ...(await work()), operation_id: id };
  };
  const journal = ctx.services.journal;
  return journal ? journal.run(id, op, once) : once();
}

/** What the client's journal says of `id`; `unknown` with the reason when it cannot be asked. */
export async function askClient(
  id: string,
  ref: string | undefined,
  ctx: ToolContext,
): Promise<Record<string, unknown>> {
  try {
    return await withClient(ref, ctx, async (client) => ({
      ...(await clientStatus(client.uuid, id, ctx)),
      client_uuid: client.uuid,
      source: 'client',
    }));
  } catch (err) {
    const e = toReachError(err);
    return {
      operation_id: id,
      status: 'unknown',
      reason: `the client cannot be asked (${e.code}: ${e.message})`,
      source: 'server',
    };
  }
}

export const operationTools = [
  defineTool({
    name: 'operation_status',
    description: 'Was a mutation applied? applied (+result), not_applied, in_progress or unknown, with why.',
    input: z.object({ operation_id: OperationId, client_id: ClientRef.optional() }),
    result: OperationStatusResult.extend({
      /** Whose journal answered: the server (downloads, uploads it saw through) or the client. */
      source: z.enum(['server', 'client']),
      client_uuid: z.string().optional(),
    }),
    errors: [],
    handler: async ({ operation_id, client_id }, ctx) => {
      const journal = ctx.services.journal;
      const here = journal ? await journal.status(operation_id) : undefined;
      const record = journal?.get(operation_id);
      // Downloads are renamed into place here, so this journal decides them; an upload the
      // server saw through is applied too. Anything else is the client's to answer.
      if (
        here &&
        (here.status === 'applied' || here.status === 'in_progress' || record?.op === 'download_file')
      ) {
        return { operation_id, ...here, source: 'server' };
      }
      return askClient(operation_id, client_id, ctx);
    },
  }),
];
