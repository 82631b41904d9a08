/**
 * End to end: a client that stops answering without closing its TCP connection (SIGSTOP) is found
 * by the heartbeat, taken offline, and its calls in flight fail with CONNECTION_ERROR; once it
 * resumes it reconnects by itself.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ClientHome, type Proc, prepareClientHome, startClient } from './e2e-harness.ts';
import { startTestServer, type TestServer, tempDir, waitFor } from './link-harness.ts';

describe('e2e: heartbeat finds a frozen client', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let ts: TestServer;
  let client: ClientHome;
  let proc: Proc | undefined;

  before(async () => {
    dir = await tempDir('reach-e2e-hb-');
    ts = await startTestServer(join(dir.path, 'server'), [
      '--heartbeat-interval',
      '1',
      '--heartbeat-timeout',
      '1',
      '--heartbeat-grace',
      '0',
    ]);
    client = await prepareClientHome(join(dir.path, 'client'), { serverDataDir: ts.dataDir });
  });
  after(async () => {
    if (proc) {
      proc.proc.kill('SIGCONT');
      await proc.stop();
    }
    await ts?.close();
    await dir?.remove();
  });

  test('SIGSTOP: offline within the heartbeat window, calls fail, then back after SIGCONT', async () => {
    const p = startClient(client, ts.server.sshPort);
    proc = p;
    await waitFor(() => ts.server.services.registry.get(client.uuid), 20_000, 'online');
    const first = ts.server.services.registry.get(client.uuid);
    const events: string[] = [];
    ts.server.services.clients.on('disconnected', (e) => events.push(e.client.uuid));

    p.proc.kill('SIGSTOP');
    // A call with a long deadline of its own still fails as soon as the link is declared dead.
    await assert.rejects(
      ts.server.services.clients.call(client.uuid, 'run_command', { cmd: 'true' }, { timeoutMs: 300_000 }),
      { code: 'CONNECTION_ERROR' },
    );
    assert.notEqual(ts.server.services.registry.get(client.uuid), first);
    assert.deepEqual(events, [client.uuid]);
    assert.equal(ts.server.services.clients.resolve(client.uuid).online, false);

    p.proc.kill('SIGCONT');
    const back = await waitFor(() => ts.server.services.registry.get(client.uuid), 30_000, 'back online');
    assert.notEqual(back, first);
    const r = await ts.server.services.clients.call(client.uuid, 'run_command', { cmd: 'echo back' });
    assert.equal(r.stdout, 'back\n');
  });
});
