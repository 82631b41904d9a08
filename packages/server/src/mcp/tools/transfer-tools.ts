import { AbsolutePath, type ErrorCode, LIMITS, ReachError } from '@reach/protocol';
import { z } from 'zod';
import { ClientRef, withClient } from '../../operations/client-ref.ts';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';
import type { TransferService } from '../../transfer/transfer-service.ts';
import { IdempotencyKey, operationId, runTransfer } from './operation-tools.ts';
import { DownloadResult, LINK_ERRORS, UploadResult } from './result-schemas.ts';

/** Least time between two progress notifications of one transfer. */
const PROGRESS_INTERVAL_MS = 250;

/** A server path inside a transfer root; relative paths are taken under the default root. */
const ServerPath = z.string().min(1).max(LIMITS.maxPathChars);

/** Octal text such as "0644" (default: the source's mode). */
const Mode = z
  .string()
  .regex(/^0?[0-7]{3,4}$/, 'octal mode such as "0644"')
  .transform((s) => Number.parseInt(s, 8));

function transfers(ctx: ToolContext): TransferService {
  const service = ctx.services.transfers;
  if (!service) throw new ReachError('INTERNAL_ERROR', 'file transfers are not configured on this server');
  return service;
}

/** Turns body progress into throttled MCP progress notifications (a no-op unless asked for). */
function progressReporter(ctx: ToolContext, verb: string): (done: number, total: number | undefined) => void {
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < PROGRESS_INTERVAL_MS && done !== total) return;
    last = now;
    const mib = (done / 1024 / 1024).toFixed(1);
    ctx.progress(done, total, `${verb} ${mib} MiB`);
  };
}

/** What upload_file and download_file can fail with, besides reaching the client. */
const TRANSFER_ERRORS = [
  ...LINK_ERRORS,
  'PATH_DENIED',
  'FILE_NOT_FOUND',
  'PERMISSION_DENIED',
  'TRANSFER_FAILED',
  'INTEGRITY_ERROR',
] as const satisfies readonly ErrorCode[];

export const transferTools = [
  defineTool({
    name: 'upload_file',
    description: 'Stream a server file/dir (in a transfer root) to the client; SHA-256 verified, atomic.',
    input: z.object({
      local_path: ServerPath,
      remote_path: AbsolutePath,
      client_id: ClientRef.optional(),
      mode: Mode.optional(),
      overwrite: z.boolean().default(true),
      resume: z.boolean().default(false),
      idempotency_key: IdempotencyKey.optional(),
    }),
    result: UploadResult,
    errors: TRANSFER_ERRORS,
    handler: (args, ctx) =>
      withClient(args.client_id, ctx, (client) => {
        const id = operationId(args.idempotency_key, ctx);
        return runTransfer(id, args.idempotency_key !== undefined, 'upload_file', client.uuid, ctx, () =>
          transfers(ctx).upload(
            {
              clientUuid: client.uuid,
              localPath: args.local_path,
              remotePath: args.remote_path,
              mode: args.mode,
              overwrite: args.overwrite,
              resume: args.resume,
              operationId: id,
            },
            { signal: ctx.signal, onProgress: progressReporter(ctx, 'uploaded') },
          ),
        );
      }),
  }),

  defineTool({
    name: 'download_file',
    description: 'Stream a client file/dir to the server (into a transfer root); SHA-256 verified, atomic.',
    input: z.object({
      remote_path: AbsolutePath,
      local_path: ServerPath,
      client_id: ClientRef.optional(),
      resume: z.boolean().default(false),
      idempotency_key: IdempotencyKey.optional(),
    }),
    result: DownloadResult,
    errors: TRANSFER_ERRORS,
    handler: (args, ctx) =>
      withClient(args.client_id, ctx, (client) => {
        const id = operationId(args.idempotency_key, ctx);
        return runTransfer(id, args.idempotency_key !== undefined, 'download_file', client.uuid, ctx, () =>
          transfers(ctx).download(
            {
              clientUuid: client.uuid,
              remotePath: args.remote_path,
              localPath: args.local_path,
              resume: args.resume,
            },
            {
              signal: ctx.signal,
              onProgress: progressReporter(ctx, 'downloaded'),
              // Renamed into place here: the journal names the content first, so a server killed
              // between the rename and its `applied` record still answers applied.
              beforeCommit: async (done) =>
                ctx.services.journal?.intend(id, {
                  ...done,
                  result: {
                    downloaded: args.remote_path,
                    kind: 'file',
                    size: done.size,
                    sha256: done.sha256,
                    local_path: done.path,
                  },
                }),
            },
          ),
        );
      }),
  }),
];
