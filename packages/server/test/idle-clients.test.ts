import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  authorizeSimKeys,
  connectManyClients,
  generateSimKeys,
  type ManyClients,
} from './helpers/many-clients.ts';
import { rssBytes, type ServerProcess, spawnServerProcess } from './helpers/server-process.ts';

const CLIENTS = 500;

/** Polls `check` every 100 ms until it resolves true or `timeoutMs` passes. */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe(`a server process holding ${CLIENTS} idle clients`, () => {
  let dataDir = '';
  let server: ServerProcess | undefined;
  let many: ManyClients | undefined;
  const keys = generateSimKeys(CLIENTS);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'reach-idle-'));
    await authorizeSimKeys(dataDir, keys);
    // 25 handshakes at once from one address: above the default per-source cap (16), which
    // exists to stop a flood from one address, not a test fleet on loopback.
    server = await spawnServerProcess(dataDir, ['--max-unauthenticated-per-source', '64']);
  });

  after(async () => {
    await many?.close();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test(`all ${CLIENTS} register and are counted online`, async (t) => {
    assert.ok(server);
    const rssBefore = await rssBytes(server.pid);
    many = await connectManyClients({ port: server.sshPort, keys });
    assert.equal(many.clients.length, CLIENTS);
    for (const c of many.clients) assert.equal(c.calls.get('hello'), 1, `client ${c.index} said hello`);
    // The server registers a client once its hello reply lands: poll until all are online.
    await eventually(
      async () => (await server!.clientCounts()).online === CLIENTS,
      20_000,
      `${CLIENTS} clients online`,
    );
    assert.deepEqual(await server.clientCounts(), { online: CLIENTS, total: CLIENTS });
    const rssWith = await rssBytes(server.pid);
    t.diagnostic(
      `server RSS ${(rssBefore / 2 ** 20).toFixed(1)} MiB → ${(rssWith / 2 ** 20).toFixed(1)} MiB with ` +
        `${CLIENTS} idle clients (${((rssWith - rssBefore) / CLIENTS / 1024).toFixed(1)} KiB each)`,
    );
  });

  test('list_clients over the control subsystem names every one of them online', async () => {
    assert.ok(many);
    const list = await many.listClients();
    assert.equal(list.online_count, CLIENTS);
    assert.equal(list.total_count, CLIENTS);
    const online = new Set(list.clients.filter((c) => c.online).map((c) => c.uuid));
    for (const c of many.clients)
      assert.ok(online.has(c.uuid), `client ${c.index} (${c.uuid}) listed online`);
  });

  test('disconnecting them takes every one offline, and the server stays up', async () => {
    assert.ok(server && many);
    await many.close();
    await eventually(async () => (await server!.clientCounts()).online === 0, 20_000, 'all clients offline');
    assert.deepEqual(await server.clientCounts(), { online: 0, total: CLIENTS });
    assert.equal(server.child.exitCode, null, 'server still running');
  });
});
