/**
 * Restart storms (#18): the server tells each client at hello how wide a window its first retry
 * after a lost link is spread over (1 s for a small fleet), and a client uses it instead of its
 * own backoff. With REACH_RECONNECT_DELAY 30 the old first retry fell anywhere in 0–30 s; with the
 * window it falls within 1 s, and so does every retry while the server is down (for 30 s at
 * least), so the client is back right after the server restarts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { freePort } from '../../../test-support/openssh.ts';
import { type ClientProcess, type ServerProcess, startClient, startHttpServer } from './mcp/harness.ts';
import { kill9, online, sdkClient } from './mcp/jobs-fixture.ts';

const API_KEY = 'restart-window-key-4b1e';

const dataDir = mkdtempSync(join(tmpdir(), 'reach-restart-window-'));
let server: ServerProcess | undefined;
let client: ClientProcess | undefined;
after(async () => {
  await client?.stop('SIGKILL');
  if (server) await kill9(server.proc);
  rmSync(dataDir, { recursive: true, force: true });
});

test('after a server restart the first retry falls in the announced window, not the 30 s backoff', async () => {
  const args = ['--port', String(await freePort()), '--ssh-port', String(await freePort())];
  server = await startHttpServer({ dataDir, args, apiKey: API_KEY });
  client = await startClient(server, {
    displayName: 'window-box',
    env: { REACH_RECONNECT_DELAY: '30', REACH_MAX_RECONNECT_DELAY: '30', REACH_LOG_LEVEL: 'info' },
  });
  // Registered (hello answered, so the window is known), not only connected.
  const mcp = await sdkClient(server, API_KEY);
  await online(mcp, client.uuid);
  await mcp.close();
  await kill9(server.proc);
  const lost = await client.logs.waitFor((l) => l.msg === 'link to server lost; reconnecting');
  assert.ok(Number(lost.retry_in_ms) <= 1000, `first retry in ${lost.retry_in_ms} ms`);
  server = await startHttpServer({ dataDir, args, apiKey: API_KEY });
  const back = await client.logs.waitFor(
    (l) =>
      l.msg === 'connected to server' && client!.logs.lines.indexOf(l) > client!.logs.lines.indexOf(lost),
    15_000,
  );
  assert.ok(back);
  // While the server was down every retry stayed in the window, not only the first.
  const retries = client.logs.lines.filter((l) => typeof l.retry_in_ms === 'number');
  assert.ok(retries.length >= 1);
  for (const r of retries) assert.ok(Number(r.retry_in_ms) <= 1000, `a retry in ${r.retry_in_ms} ms`);
});
