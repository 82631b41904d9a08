import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLogger } from '../log/logger.ts';
import { generateKeyPair } from './keys.ts';
import { Tunnel } from './tunnel.ts';

describe('Tunnel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'reach-tunnel-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('close() during a connect attempt to a silent peer returns at once, not after the 20 s ready timeout', async () => {
    // Accepts TCP and never says a word of SSH.
    const sockets: Socket[] = [];
    const silent = createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.resume(); // read, so the peer's close is seen
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const tunnel = new Tunnel({
        host: '127.0.0.1',
        port,
        username: 'reach',
        privateKey: generateKeyPair('test').privateKey,
        knownHostsPath: join(dir, 'known_hosts'),
        handlers: new Map(),
        reconnectDelayS: 1,
        maxReconnectDelayS: 1,
        log: createLogger('silent'),
      });
      const running = tunnel.start();
      const deadline = Date.now() + 5000;
      while (sockets.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(sockets.length, 1, 'the tunnel dialled');
      assert.equal(tunnel.state, 'connecting');
      const t0 = Date.now();
      await tunnel.close();
      await running;
      assert.ok(Date.now() - t0 < 2000, `close took ${Date.now() - t0} ms`);
      assert.equal(tunnel.state, 'closed');
      await new Promise<void>((resolve) => {
        const s = sockets[0]!;
        if (s.destroyed || s.readableEnded) resolve();
        else s.once('close', () => resolve());
      });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
