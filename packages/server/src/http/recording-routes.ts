import { Readable } from 'node:stream';
import { Hono } from 'hono';
import type { Recordings } from '../terminal/recordings.ts';
import type { HttpEnv } from './http-app.ts';

/**
 * Terminal recordings: `GET /api/clients/:uuid/recordings` lists them, `…/recordings/:id` streams
 * one asciicast v2 file. Names are validated and the path resolved before anything is read
 * (recordings.ts).
 */
export function recordingRoutes(recordings: Recordings): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get('/api/clients/:uuid/recordings', async (c) =>
    c.json({ recordings: await recordings.list(c.req.param('uuid')) }),
  );
  app.get('/api/clients/:uuid/recordings/:id', async (c) => {
    const { size, stream } = await recordings.read(c.req.param('uuid'), c.req.param('id'));
    c.header('content-type', 'application/x-asciicast');
    c.header('content-length', String(size));
    return c.body(Readable.toWeb(stream) as ReadableStream<Uint8Array>);
  });
  return app;
}
