/**
 * The server's channel caps over a real loopback SSH link to a real tunnel: stream channels the
 * server opens are refused past the connection's cap with RATE_LIMIT_EXCEEDED, the agent channel
 * keeps working, and a closed channel frees its slot.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Tunnel } from '../../client/src/tunnel/tunnel.ts';
import { CHANNEL_CAPS } from '../src/ssh/channel-budget.ts';
import {
  fakeAgent,
  memoryLogger,
  newClientKey,
  startTestServer,
  type TestServer,
  tempDir,
  waitFor,
} from './link-harness.ts';

describe('link: channel caps', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let ts: TestServer;
  let tunnel: Tunnel | undefined;

  before(async () => {
    dir = await tempDir('reach-link-caps-');
    ts = await startTestServer(join(dir.path, 'server'));
  });
  after(async () => {
    await tunnel?.close();
    await ts.close();
    await dir.remove();
  });

  test('stream channels past the cap are refused; the agent channel still serves; a close frees a slot', async () => {
    const key = await newClientKey(ts.dataDir);
    const agent = fakeAgent(undefined, 'caps');
    const held: Duplex[] = [];
    tunnel = new Tunnel({
      host: '127.0.0.1',
      port: ts.server.sshPort,
      username: 'reach',
      privateKey: key.privateKey,
      knownHostsPath: join(dir.path, 'known_hosts'),
      handlers: agent.handlers,
      reconnectDelayS: 0.05,
      maxReconnectDelayS: 0.2,
      log: memoryLogger().log,
      streamHandler: (channel) => {
        channel.on('error', () => {});
        channel.resume();
        held.push(channel);
      },
    });
    tunnel.start().catch(() => {});
    await waitFor(() => ts.server.services.registry.get(agent.uuid), 10_000, 'client online');
    const link = ts.server.services.clients.onlineClient(agent.uuid).link;

    // The agent channel holds one slot of the connection's total.
    const room = Math.min(CHANNEL_CAPS.stream, CHANNEL_CAPS.total - 1);
    const opened: Duplex[] = [];
    for (let i = 0; i < room; i++) opened.push(await link.openStreamChannel());
    await assert.rejects(link.openStreamChannel(), (err: Error & { code?: string; details?: unknown }) => {
      assert.equal(err.code, 'RATE_LIMIT_EXCEEDED');
      assert.equal((err.details as { kind: string }).kind, 'stream');
      return true;
    });
    const r = await ts.server.services.clients.call(agent.uuid, 'run_command', { cmd: 'echo still' });
    assert.equal(r.stdout, 'echo still');

    const first = opened.shift()!;
    const closed = new Promise((resolve) => first.once('close', resolve));
    // ssh2 reports a channel's close only once its input has been read to the end.
    first.resume();
    first.destroy();
    await closed;
    opened.push(await link.openStreamChannel());
    for (const s of opened) s.resume().destroy();
  });
});
