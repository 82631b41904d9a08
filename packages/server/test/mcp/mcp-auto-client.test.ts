import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type ClientProcess,
  eventually,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './harness.ts';
import { fails, ok } from './mcp-client.ts';

/**
 * No client selected: with exactly one online, tools use it and say so; with several, the
 * NO_ACTIVE_CLIENT error lists them. Each call opens a fresh MCP session, as the Inspector CLI does.
 */
describe('MCP: the only online client is used when none is selected', () => {
  let server: ServerProcess;
  let first: ClientProcess;
  let second: ClientProcess | undefined;
  const sessions: Client[] = [];

  async function freshSession(): Promise<Client> {
    // A pooled keep-alive socket the server closes just as it is reused fails with "other side
    // closed" (Node's 5 s keepAliveTimeout, on a loaded machine): that says nothing about this
    // feature, so connecting is tried once more.
    for (let attempt = 1; ; attempt++) {
      const client = new Client({ name: 'reach-auto-test', version: '1.0.0' });
      try {
        await client.connect(
          new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`)),
        );
        sessions.push(client);
        return client;
      } catch (err) {
        if (attempt >= 2 || !String((err as Error).cause ?? err).includes('other side closed')) throw err;
      }
    }
  }

  async function onlineCount(n: number): Promise<void> {
    const s = await freshSession();
    await eventually(async () => ((await ok(s, 'list_clients')).online_count === n ? true : undefined));
  }

  before(async () => {
    server = await startHttpServer();
    first = await startClient(server, { displayName: 'solo-box' });
    await onlineCount(1);
  });

  after(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await Promise.allSettled([first?.stop(), second?.stop()]);
    await server?.stop();
  });

  test('one client online: a fresh session runs on it and the result names it', async () => {
    const r = await ok(await freshSession(), 'run_command', { cmd: 'echo "$REACH_HOME"' });
    assert.equal(r.stdout.trim(), first.home);
    assert.deepEqual(r.auto_selected_client, { uuid: first.uuid, display_name: 'solo-box' });
    const files = await ok(await freshSession(), 'list_files', { path: first.home });
    assert.deepEqual(files.auto_selected_client, { uuid: first.uuid, display_name: 'solo-box' });
    // Named or selected: nothing was chosen for the caller, so nothing is added.
    const named = await ok(await freshSession(), 'run_command', { cmd: 'true', client_id: 'solo-box' });
    assert.equal(named.auto_selected_client, undefined);
    const s = await freshSession();
    await ok(s, 'select_client', { client_id: first.uuid });
    assert.equal((await ok(s, 'run_command', { cmd: 'true' })).auto_selected_client, undefined);
  });

  test('two clients online: NO_ACTIVE_CLIENT lists both', async () => {
    second = await startClient(server, { displayName: 'other-box' });
    await onlineCount(2);
    const err = await fails(await freshSession(), 'run_command', { cmd: 'true' }, 'NO_ACTIVE_CLIENT');
    const listed = (err.details.online as { uuid: string }[]).map((c) => c.uuid).sort();
    assert.deepEqual(listed, [first.uuid, second.uuid].sort());
    assert.match(String(err.recovery_hint), /select_client/);
  });
});
