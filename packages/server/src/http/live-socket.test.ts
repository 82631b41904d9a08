import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { LiveEvents } from '../operations/live-events.ts';
import { liveSocketRoute } from './live-socket.ts';
import { attachWebSockets } from './ws-upgrade.ts';

const events = new LiveEvents();
/** 64 KiB: far below what one burst below puts in the socket's user-space buffer. */
const MAX_BUFFERED = 64 * 1024;
let server: Server;
let detach: () => void;
let url: string;

before(async () => {
  server = createServer();
  detach = attachWebSockets(server, {
    authorize: () => 'test',
    routes: [liveSocketRoute(events, MAX_BUFFERED)],
    maxPayloadBytes: 1024,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
});

after(() => {
  detach();
  server.close();
});

function open(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

test('each event is one JSON text frame, and a closed socket stops listening', async () => {
  const ws = await open();
  const got = new Promise<unknown>((resolve) => ws.once('message', (m) => resolve(JSON.parse(String(m)))));
  const event = {
    type: 'client.connected',
    at: new Date().toISOString(),
    client: { uuid: 'u', display_name: 'n' },
    data: {},
  };
  events.publish(event);
  assert.deepEqual(await got, event);
  const closed = new Promise((resolve) => ws.once('close', resolve));
  ws.close();
  await closed;
  // The server side has seen the close once the listener is gone.
  while (events.listenerCount > 0) await new Promise((r) => setImmediate(r));
  assert.equal(events.listenerCount, 0);
});

test('a socket that falls too far behind is closed with 1013, not queued without bound', async () => {
  const ws = await open();
  // 32 MiB of events in one synchronous burst: the peer (this process) reads nothing meanwhile,
  // and the kernel's loopback buffers hold a few MiB, so the rest waits in the server's socket
  // buffer and passes the bound.
  const data = { pad: 'x'.repeat(4096) };
  const total = 8192;
  for (let i = 0; i < total; i++) events.publish({ type: 'metrics.sample', at: '', data });
  let received = 0;
  ws.on('message', () => {
    received += 1;
  });
  const code = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
  assert.equal(await code, 1013);
  assert.ok(received < total, `${received} of ${total} delivered before the close`);
  assert.equal(events.listenerCount, 0, 'the lagging socket no longer listens');
});
