import { AbsolutePath, LIMITS, ReachError } from '@reach/protocol';
import { z } from 'zod';
import type { ExchangeCatalog } from '../../storage/exchange-catalog.ts';
import { type ExchangeService, SERVER_SOURCE } from '../../storage/exchange-service.ts';
import { defineTool, type ToolContext } from '../tool.ts';
import { ClientRef, withClient } from './client-ref.ts';

const ServerPath = z.string().min(1).max(LIMITS.maxPathChars);
const TransferId = z.uuid();

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
      'Put a server file (local_path, in a transfer root) or a client file (client_path; the client uploads it to the bucket itself) into the exchange bucket; returns a presigned download URL. With dest_client + dest_path it is delivered to that client now, or when it next connects. Objects expire after 48 h.',
    input: z.object({
      local_path: ServerPath.optional(),
      client_path: AbsolutePath.optional(),
      client_id: ClientRef.optional().describe('source client of client_path; default: selected'),
      dest_client: ClientRef.optional(),
      dest_path: AbsolutePath.optional(),
      expires_hours: z.number().int().min(1).max(12).default(12),
    }),
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
      'Fetch an exchange object (download_url or transfer_id) to the server (local_path, in a transfer root) or straight into a client (client_path; the client fetches it itself). SHA-256 verified, atomic.',
    input: z.object({
      download_url: z.string().max(8192).optional(),
      transfer_id: TransferId.optional(),
      local_path: ServerPath.optional(),
      client_path: AbsolutePath.optional(),
      client_id: ClientRef.optional(),
    }),
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
    description:
      'List exchange objects with their state (stored, pending delivery, delivered, failed), optionally of one client (source or destination).',
    input: z.object({ client_id: ClientRef.optional() }),
    handler: (args, ctx) =>
      exchange(ctx).catalog.list(args.client_id === undefined ? undefined : clientUuid(args.client_id, ctx)),
  }),

  defineTool({
    name: 'exchange_delete',
    description: 'Delete an exchange object now (they expire after 48 h anyway).',
    input: z.object({
      transfer_id: TransferId,
      source_client: ClientRef.describe('the uploading client, or "server"'),
    }),
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
