import { createHash } from 'node:crypto';
import { OperationStatusParams, type RpcHandler } from '@reach/protocol';
import type { OperationIntent, OperationJournal } from '@reach/protocol/node';
import { defineHandler } from '../agent/handlers/define-handler.ts';

/** Bytes of each output stream a recorded run_command result keeps: its tail. */
export const RECORDED_OUTPUT_BYTES = 4096;

type Params = Record<string, unknown> | undefined;

/**
 * Wraps a mutating agent method so a call carrying `operation_id` runs once (OperationJournal.run):
 * a retry while it runs waits for it, a retry after it gets the recorded result. Calls without an
 * id run as before, unjournaled.
 */
export function journaled(
  journal: OperationJournal,
  op: string,
  handler: RpcHandler,
  opts: {
    record?: (result: Record<string, unknown>) => unknown;
    intent?: (p: Params) => OperationIntent | undefined;
  } = {},
): RpcHandler {
  return async (params, ctx) => {
    const p = params as Params;
    const id = p?.operation_id;
    if (typeof id !== 'string' || id === '') return handler(params, ctx);
    const result = await journal.run(
      id,
      op,
      async () => ({ ...((await handler(params, ctx)) as Record<string, unknown>), operation_id: id }),
      { record: opts.record, intent: opts.intent?.(p) },
    );
    return { ...result, operation_id: id };
  };
}

/** run_command's recorded copy: return code and duration whole, each stream's last 4 KiB. */
export function recordCommandResult(result: Record<string, unknown>): unknown {
  // A command that became a job: its id is the outcome (job_wait has the rest).
  if (typeof result.job_id === 'string') return result;
  const tail = (s: unknown) => {
    const text = typeof s === 'string' ? s : '';
    const buf = Buffer.from(text, 'utf8');
    if (buf.length <= RECORDED_OUTPUT_BYTES) return { text, cut: false };
    return { text: buf.subarray(buf.length - RECORDED_OUTPUT_BYTES).toString('utf8'), cut: true };
  };
  const out = tail(result.stdout);
  const err = tail(result.stderr);
  return {
    ...result,
    stdout: out.text,
    stderr: err.text,
    truncated: result.truncated === true || out.cut || err.cut,
  };
}

/**
 * write_file's intent: the destination and the SHA-256 of the bytes it will hold, so a write cut
 * off by a crash counts as applied exactly when the file there has that content.
 */
export function writeFileIntent(p: Params): OperationIntent | undefined {
  const path = p?.path;
  const content = p?.content;
  if (typeof path !== 'string' || typeof content !== 'string') return undefined;
  const body = p?.binary === true ? Buffer.from(content.replace(/\s+/g, ''), 'base64') : Buffer.from(content);
  return {
    path,
    sha256: createHash('sha256').update(body).digest('hex'),
    size: body.length,
    result: { path, size: body.length, operation_id: p?.operation_id },
  };
}

/** `operation_status`: what this client's journal knows of one operation. */
export function operationStatusHandler(journal: OperationJournal | undefined): RpcHandler {
  return defineHandler(OperationStatusParams, async ({ operation_id }) =>
    journal
      ? { operation_id, ...(await journal.status(operation_id)) }
      : { operation_id, status: 'unknown', reason: 'this client keeps no operation journal' },
  );
}
