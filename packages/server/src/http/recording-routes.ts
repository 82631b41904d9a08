import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Recordings } from '../terminal/recordings.ts';
import { type ApiRoute, apiRoute, UuidParams } from './api/api-route.ts';

const Recording = z.object({
  id: z.string(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  bytes: z.number().int(),
  caller: z.string().nullable(),
});

/**
 * Terminal recordings as /api routes (same auth, validation and OpenAPI entry as the rest):
 * `GET /api/clients/:uuid/recordings` lists them, `…/recordings/:id` streams one asciicast v2
 * file. Names are validated and the path resolved before anything is read (recordings.ts).
 */
export function recordingRoutes(recordings: Recordings): ApiRoute[] {
  return [
    apiRoute({
      method: 'get',
      path: '/clients/:uuid/recordings',
      summary: 'Terminal sessions recorded on this client (asciicast v2 files)',
      params: UuidParams,
      response: z.object({ recordings: z.array(Recording) }),
      handler: async ({ params }) => ({ recordings: await recordings.list(params.uuid) }),
    }),
    apiRoute({
      method: 'get',
      path: '/clients/:uuid/recordings/:id',
      summary: 'One terminal recording (application/x-asciicast, streamed)',
      params: UuidParams.extend({ id: z.string().min(1).max(100) }),
      response: 'binary',
      handler: async ({ params, c }) => {
        const { size, stream } = await recordings.read(params.uuid, params.id);
        c.header('content-type', 'application/x-asciicast');
        c.header('content-length', String(size));
        return c.body(Readable.toWeb(stream) as ReadableStream<Uint8Array>, 200);
      },
    }),
  ];
}
