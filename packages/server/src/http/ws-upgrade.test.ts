import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ReachError } from '@reach/protocol';
import { WebSocket } from 'ws';
import { attachWebSockets } from './ws-upgrade.ts';

let server: Server;
let detach: () => void;
let base: string;

before(async () => {
  server = createServer((_req, res) => res.end('plain'));
  detach = attachWebSockets(server, {
    maxPayloadBytes: 1024,
    authorize: (req) => {
      if (req.headers.authorization !== 'Bearer good')
        throw new ReachError('UNAUTHORIZED', 'invalid API key');
      return 'key:test';
    },
    routes: [
      {
        path: /^\/echo\/([a-z]+)$/,
        open: (ws, _req, match, caller) => {
          ws.send(JSON.stringify({ name: match[1], caller }));
          ws.on('message', (data) => ws.send(data));
        },
      },
    ],
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  detach();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The HTTP answer to a refused upgrade: its status and JSON body. */
function refusal(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => reject(new Error('upgrade was accepted')));
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => {
        text += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.on('error', () => {});
  });
}

test('an authorized upgrade on a route opens, with the route match and the caller', async () => {
  const ws = new WebSocket(`${base}/echo/abc`, { headers: { authorization: 'Bearer good' } });
  const first = await new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
  assert.deepEqual(JSON.parse(first), { name: 'abc', caller: 'key:test' });
  ws.send('ping');
  assert.equal(await new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d)))), 'ping');
  ws.close();
});

test('a refused caller gets the shared error JSON with 401 and no socket', async () => {
  const r = await refusal(`${base}/echo/abc`, { authorization: 'Bearer bad' });
  assert.equal(r.status, 401);
  assert.deepEqual(r.body, { error: 'UNAUTHORIZED', message: 'invalid API key' });
});

test('an unknown path is a 404 before the caller is even checked', async () => {
  const r = await refusal(`${base}/nowhere`);
  assert.equal(r.status, 404);
  assert.equal((r.body as { error: string }).error, 'INVALID_ARGUMENT');
});

test('a message past maxPayloadBytes closes the socket with 1009', async () => {
  const ws = new WebSocket(`${base}/echo/big`, { headers: { authorization: 'Bearer good' } });
  await new Promise((resolve) => ws.once('message', resolve));
  ws.send(Buffer.alloc(2048));
  const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
  assert.equal(code, 1009);
});
