import { AbsolutePath, LIMITS, ReachError } from '@reach/protocol';
import { z } from 'zod';
import { ClientRef, withClient } from '../../operations/client-ref.ts';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';
import type { ExchangeCatalog } from '../../storage/exchange-catalog.ts';
import { SERVER_SOURCE } from '../../storage/exchange-events.ts';
import type { ExchangeService } from '../../storage/exchange-service.ts';
import {
  ExchangeDownloadResult,
  ExchangeListResult,
  ExchangeUploadResult,
  LINK_ERRORS,
} from './result-schemas.ts';

const ServerPath = z.string().min(1).max(LIMITS.maxPathChars);
/** A UUID, checked by a short pattern (z.uuid()'s JSON Schema pattern alone is 200 bytes of tools/list). */
const TransferId = z.string().regex(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i);
/** A client named as destination, online or not. */
const OtherClient = z.string().min(1).max(200);

function exchange(ctx: ToolContext): { service: ExchangeService; catalog: ExchangeCatalog } {
  const e = ctx.services.exchange;
  if (!e) throw new ReachError('R2_NOT_CONFIGURED', 'the exchange bucket is not configured on this server');
  // Throws the R2_NOT_CONFIGURED error naming the missing variables.
  void e.service.bucket;
  return e;
}

/** A client named by any reference, online or not, as its uuid; `server` stays `server`. */
function clientUuid(ref: string, ctx: ToolContext): string {
  return ref === SERVER_SOURCE ? ref : ctx.services.clients.resolve(ref).uuid;
}

export const exchangeTools = [
  defineTool({
    name: 'exchange_upload',
    description:
      'Server (local_path) or client (client_path) file to the bucket; presigned URL back. dest_client+dest_path: delivered now or on connect.',
    input: z.object({
      local_path: ServerPath.optional(),
      client_path: AbsolutePath.optional(),
      client_id: ClientRef.optional(),
      dest_client: OtherClient.optional(),
      dest_path: AbsolutePath.optional(),
      expires_hours: z.number().int().min(1).max(12).default(12),
    }),
    result: ExchangeUploadResult,
    errors: [
      'R2_NOT_CONFIGURED',
      'R2_UPLOAD_ERROR',
      ...LINK_ERRORS,
      'PATH_DENIED',
      'FILE_NOT_FOUND',
      'PERMISSION_DENIED',
      'INTEGRITY_ERROR',
    ],
    handler: async (args, ctx) => {
      const { service } = exchange(ctx);
      const destClient = args.dest_client === undefined ? undefined : clientUuid(args.dest_client, ctx);
      const common = {
        destClient,
        destPath: args.dest_path,
        expiresHours: args.expires_hours,
      };
      const onProgress = (done: number, total: number | undefined) => ctx.progress(done, total);
      if (args.client_path !== undefined) {
        if (args.local_path !== undefined) {
          throw new ReachError('INVALID_ARGUMENT', 'give exactly one of local_path and client_path');
        }
        return withClient(args.client_id, ctx, (client) =>
          service.upload(
            { ...common, clientPath: args.client_path, sourceClient: client.uuid },
            { signal: ctx.signal, onProgress },
          ),
        );
      }
      if (destClient !== undefined) ctx.touchedClient = destClient;
      return service.upload({ ...common, localPath: args.local_path }, { signal: ctx.signal, onProgress });
    },
  }),

  defineTool({
    name: 'exchange_download',
    description:
      'download_url or transfer_id to the server (local_path) or a client (client_path); SHA-256 checked.',
    input: z.object({
      download_url: z.string().max(8192).optional(),
      transfer_id: TransferId.optional(),
      local_path: ServerPath.optional(),
      client_path: AbsolutePath.optional(),
      client_id: ClientRef.optional(),
    }),
    result: ExchangeDownloadResult,
    errors: [
      'R2_NOT_CONFIGURED',
      'R2_DOWNLOAD_ERROR',
      ...LINK_ERRORS,
      'PATH_DENIED',
      'FILE_NOT_FOUND',
      'PERMISSION_DENIED',
      'INTEGRITY_ERROR',
    ],
    handler: async (args, ctx) => {
      const { service } = exchange(ctx);
      if ((args.download_url === undefined) === (args.transfer_id === undefined)) {
        throw new ReachError('INVALID_ARGUMENT', 'give exactly one of download_url and transfer_id');
      }
      const req = { downloadUrl: args.download_url, transferId: args.transfer_id };
      if (args.client_path !== undefined) {
        return withClient(args.client_id, ctx, (client) =>
          service.download(
            { ...req, clientPath: args.client_path, localPath: args.local_path, client: client.uuid },
            { signal: ctx.signal },
          ),
        );
      }
      return service.download({ ...req, localPath: args.local_path }, { signal: ctx.signal });
    },
  }),

  defineTool({
    name: 'exchange_list',
    description: 'Bucket exchanges and their state.',
    input: z.object({ client_id: ClientRef.optional() }),
    result: ExchangeListResult,
    errors: ['R2_NOT_CONFIGURED', 'CLIENT_NOT_FOUND', 'R2_DOWNLOAD_ERROR'],
    handler: (args, ctx) =>
      exchange(ctx).catalog.list(args.client_id === undefined ? undefined : clientUuid(args.client_id, ctx)),
  }),

  defineTool({
    name: 'exchange_delete',
    description: 'Delete an exchange object.',
    input: z.object({
      transfer_id: TransferId,
      source_client: OtherClient.describe('uploader or "server"'),
    }),
    result: z.object({ key: z.string(), deleted: z.literal(true) }),
    errors: ['R2_NOT_CONFIGURED', 'FILE_NOT_FOUND', 'R2_UPLOAD_ERROR'],
    handler: (args, ctx) => {
      const { catalog } = exchange(ctx);
      let source = args.source_client;
      try {
        source = clientUuid(args.source_client, ctx);
      } catch {
        // A client since forgotten: its objects are still under its uuid.
      }
      return catalog.delete(args.transfer_id, source);
    },
  }),
];
