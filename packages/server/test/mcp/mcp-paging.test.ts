/**
 * End to end over the MCP SDK: a real reach-server process, simulated clients on loopback SSH
 * (one ssh2 connection each, registered through hello), list_clients and find_client paged by
 * cursor with the fleet changing between pages, and the control list_clients paged the same way.
 */
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LINK, ListClientsResult } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import {
  authorizeSimKeys,
  connectManyClients,
  generateSimKeys,
  type ManyClients,
} from '../helpers/many-clients.ts';
import { eventually, type ServerProcess, startHttpServer } from './harness.ts';
import { fails, ok } from './mcp-client.ts';

const API_KEY = 'test-key-paging-5d1e';

describe('MCP list_clients/find_client paging, real server and simulated clients', () => {
  const keys = generateSimKeys(36);
  let server: ServerProcess;
  let staying: ManyClients;
  let leaving: ManyClients;
  let late: ManyClients | undefined;
  let mcp: Client;

  /** Every page of `tool` with `args`, running `between` after each page but the last. */
  async function walk(tool: string, args: Record<string, unknown>, between = async () => {}) {
    const clients: Array<{ uuid: string; online: boolean; display_name: string }> = [];
    const pages: Record<string, any>[] = [];
    let cursor: string | undefined;
    for (let i = 0; i < 50; i++) {
      const page = await ok(mcp, tool, cursor === undefined ? args : { ...args, cursor });
      pages.push(page);
      clients.push(...page.clients);
      if (page.next_cursor === null) return { clients, pages };
      cursor = page.next_cursor;
      await between();
    }
    throw new Error('more than 50 pages');
  }

  before(async () => {
    // All simulated clients come from 127.0.0.1: lift the per-source cap of handshakes.
    server = await startHttpServer({ apiKey: API_KEY, args: ['--max-unauthenticated-per-source', '100'] });
    await authorizeSimKeys(server.dataDir, keys);
    staying = await connectManyClients({ port: server.sshPort, keys: keys.slice(0, 20) });
    leaving = await connectManyClients({ port: server.sshPort, keys: keys.slice(20, 30) });
    await leaving.close();
    mcp = new Client({ name: 'reach-paging-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
      }),
    );
    await eventually(async () => {
      const list = await ok(mcp, 'list_clients', { limit: 1 });
      return list.online_count === 20 && list.total_count === 30 ? list : undefined;
    });
  });
  after(async () => {
    await mcp?.close();
    await Promise.allSettled([staying?.close(), leaving?.close(), late?.close()]);
    await server?.stop();
  });

  test('list_clients pages: online first, each client once, counts beside the old ones', async () => {
    const { clients, pages } = await walk('list_clients', { limit: 7 });
    assert.equal(pages.length, 5);
    assert.equal(clients.length, 30);
    assert.equal(new Set(clients.map((c) => c.uuid)).size, 30);
    assert.ok(
      clients.slice(0, 20).every((c) => c.online),
      'the 20 online first',
    );
    assert.ok(clients.slice(20).every((c) => !c.online));
    for (const p of pages) {
      assert.equal(p.total, 30);
      assert.equal(p.online, 20);
      assert.equal(p.total_count, 30);
      assert.equal(p.online_count, 20);
      assert.ok(p.clients.length <= 7);
    }
    const online = await walk('list_clients', { limit: 6, online_only: true });
    assert.equal(online.clients.length, 20);
    assert.ok(online.clients.every((c) => c.online));
    assert.equal(online.pages[0]?.total, 20);
  });

  test('clients registering between pages: none of the others repeated or skipped', async () => {
    const first = (await walk('list_clients', { limit: 100 })).clients.map((c) => c.uuid);
    let added = false;
    const { clients } = await walk('list_clients', { limit: 8 }, async () => {
      if (added) return;
      added = true;
      late = await connectManyClients({ port: server.sshPort, keys: keys.slice(30, 36) });
    });
    const uuids = clients.map((c) => c.uuid);
    assert.equal(new Set(uuids).size, uuids.length, 'no client twice');
    for (const u of first) assert.ok(uuids.includes(u), `${u} listed`);
  });

  test('find_client filters in SQL and pages the matches', async () => {
    const blue = staying.clients.slice(0, 5).map((c) => c.uuid);
    for (const uuid of blue) await ok(mcp, 'update_client', { uuid, tags: ['Blue', 'sim'] });
    const { clients, pages } = await walk('find_client', { tags: ['BLUE'], limit: 2 });
    assert.deepEqual(clients.map((c) => c.uuid).sort(), [...blue].sort());
    assert.equal(pages.length, 3);
    assert.equal(pages[0]?.total, 5);
    assert.equal(pages[0]?.count, 2, 'count is the page');
    const none = await ok(mcp, 'find_client', { tags: ['blue'], query: 'no-such-name' });
    assert.deepEqual(none.clients, []);
    assert.equal(none.next_cursor, null);
  });

  test('a cursor edited or replayed with other filters → INVALID_ARGUMENT', async () => {
    const page = await ok(mcp, 'list_clients', { limit: 3 });
    const cursor = String(page.next_cursor);
    const body = await fails(mcp, 'list_clients', { limit: 3, cursor: `x${cursor}` }, 'INVALID_ARGUMENT');
    assert.match(String(body.recovery_hint), /without cursor/);
    await fails(mcp, 'list_clients', { limit: 3, online_only: true, cursor }, 'INVALID_ARGUMENT');
    await fails(mcp, 'find_client', { tags: ['sim'], cursor }, 'INVALID_ARGUMENT');
    await fails(mcp, 'list_clients', { limit: 1001 }, 'INVALID_ARGUMENT');
  });

  test('the control list_clients pages too; {} (clients before paging) gets the first page', async () => {
    // Every call on one control channel, as `reach --list-clients` asks its pages (the server
    // caps control channels per connection at 4).
    const conn = staying.clients[0]?.conn;
    assert.ok(conn);
    const stream = await new Promise<Duplex>((resolve, reject) =>
      conn.subsys(LINK.controlSubsystem, (err, ch) => (err ? reject(err) : resolve(ch))),
    );
    const peer = peerOverStream(stream);
    const list = async (params: object) => ListClientsResult.parse(await peer.call('list_clients', params));
    try {
      const all = await list({});
      assert.equal(all.clients.length, all.total_count, 'a small fleet fits the first page');
      assert.equal(all.next_cursor, null);
      const seen: string[] = [];
      let cursor: string | null | undefined;
      for (let i = 0; i < 50; i++) {
        const page = await list(cursor ? { limit: 4, cursor } : { limit: 4 });
        seen.push(...page.clients.map((c) => c.uuid));
        cursor = page.next_cursor;
        if (!cursor) break;
      }
      assert.deepEqual(
        seen,
        all.clients.map((c) => c.uuid),
      );
      await assert.rejects(peer.call('list_clients', { cursor: 'forged.cursor' }), {
        code: 'INVALID_ARGUMENT',
      });
    } finally {
      peer.close();
    }
  });
});
