import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AbsolutePath, ReachError } from '@reach/protocol';
import { z } from 'zod';
import type { Operations } from '../../operations/operations.ts';
import type { TransferService } from '../../transfer/transfer-service.ts';
import { type ApiRoute, apiRoute, UuidParams } from './api-route.ts';

export interface FileContentDeps {
  operations: Operations;
  transfers: Pick<TransferService, 'upload' | 'download' | 'roots'>;
}

const PathQuery = z.object({ path: AbsolutePath });

/** `attachment; filename=…` safe for any name (RFC 6266: an ASCII fallback and filename*). */
function disposition(path: string): string {
  const name = basename(path) || 'download';
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * File bytes over HTTP through the transfer engine (an SSH stream channel of its own, both
 * ends hashing, the destination renamed into place only once the hashes agree). The HTTP side
 * is spooled through a file under the default transfer root, so any size works in bounded
 * memory and a dropped HTTP connection never reaches the client: an upload is sent only once
 * its whole body arrived, a download is answered only once all of it is here and verified.
 */
export function fileContentRoutes(d: FileContentDeps): ApiRoute[] {
  const spoolDir = (): string => join(d.transfers.roots[0]!, '.http-spool');
  // What a killed server left in the spool goes before the first request makes a new one.
  let swept: Promise<void> | undefined;
  const spoolFile = async (): Promise<string> => {
    swept ??= rm(spoolDir(), { recursive: true, force: true });
    await swept;
    await mkdir(spoolDir(), { recursive: true, mode: 0o700 });
    return join(spoolDir(), `${randomUUID()}.part`);
  };
  return [
    apiRoute({
      method: 'get',
      path: '/clients/:uuid/files/content',
      summary: 'Download a file (streamed; application/octet-stream)',
      params: UuidParams,
      query: PathQuery,
      response: 'binary',
      handler: async ({ params, query, caller, signal, c }) => {
        const spool = await spoolFile();
        try {
          await d.operations.perform(
            {
              op: 'http_download',
              caller: caller.caller,
              clientRef: params.uuid,
              args: { path: query.path },
              signal,
            },
            (client) =>
              d.transfers.download(
                { clientUuid: client.uuid, remotePath: query.path, localPath: spool, resume: false },
                { signal },
              ),
          );
          const s = await stat(spool);
          if (!s.isFile()) {
            throw new ReachError('INVALID_ARGUMENT', `${query.path} is a directory`, {
              recoveryHint: 'download files one by one (GET …/files lists a directory)',
            });
          }
          const body = createReadStream(spool);
          // The spool goes once the answer is sent or dropped.
          body.once('close', () => void rm(spool, { force: true }));
          c.header('content-type', 'application/octet-stream');
          c.header('content-length', String(s.size));
          c.header('content-disposition', disposition(query.path));
          return c.body(Readable.toWeb(body) as ReadableStream<Uint8Array>, 200);
        } catch (err) {
          await rm(spool, { recursive: true, force: true });
          throw err;
        }
      },
    }),
    apiRoute({
      method: 'put',
      path: '/clients/:uuid/files/content',
      summary: 'Upload a file: the raw body (streamed, any size) is written atomically at path',
      params: UuidParams,
      query: PathQuery,
      rawBody: true,
      response: z.object({ path: z.string(), size: z.number().int(), sha256: z.string() }),
      handler: async ({ params, query, caller, signal, c }) => {
        const spool = await spoolFile();
        try {
          // The client is resolved and its rate limit taken before a byte of the body is read.
          const r = await d.operations.perform(
            {
              op: 'http_upload',
              caller: caller.caller,
              clientRef: params.uuid,
              args: { path: query.path },
              signal,
            },
            async (client) => {
              const body = c.req.raw.body;
              if (body === null) throw new ReachError('INVALID_ARGUMENT', 'no request body');
              try {
                await pipeline(
                  Readable.fromWeb(body as WebReadableStream),
                  createWriteStream(spool, { mode: 0o600 }),
                  { signal },
                );
              } catch (err) {
                throw new ReachError('CONNECTION_ERROR', 'the request body ended early', { cause: err });
              }
              return d.transfers.upload(
                {
                  clientUuid: client.uuid,
                  localPath: spool,
                  remotePath: query.path,
                  // The spool is 0600; an uploaded file gets the usual 0644.
                  mode: 0o644,
                  overwrite: true,
                  resume: false,
                },
                { signal },
              );
            },
          );
          return { path: query.path, size: r.size, sha256: r.sha256 };
        } finally {
          await rm(spool, { force: true });
        }
      },
    }),
  ];
}
