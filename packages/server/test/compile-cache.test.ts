import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  CLIENT_LAUNCHER,
  ROOT,
  SERVER_LAUNCHER,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './mcp/harness.ts';

// The installed commands turn on the compile cache, warmed before the first start, so that no
// process they start loads the TypeScript stripper, ~26 MiB of a client's idle RSS for the life of
// the process (packages/protocol/src/compile-cache.mjs).
// What is checked is that behaviour, read from the process itself (a preload prints whether the
// stripper was loaded when it exits), not a memory figure.
const PROBE = `--import=${join(ROOT, 'test-support/stripper-probe.mjs')}`;
const work = mkdtempSync(join(tmpdir(), 'reach-compile-cache-'));
const servers: ServerProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(work, { recursive: true, force: true });
});

/** Runs a client until it is connected, stops it, and returns whether it loaded the stripper. */
async function clientRun(server: ServerProcess, env: Record<string, string>, bin?: string): Promise<boolean> {
  const client = await startClient(server, {
    displayName: 'cc',
    env: { NODE_OPTIONS: PROBE, ...env },
    ...(bin && { bin }),
  });
  await client.logs.waitFor((l) => l.msg === 'connected to server');
  const exited = new Promise<void>((r) => client.proc.once('exit', () => r()));
  await client.stop('SIGTERM');
  await exited;
  const line = client.logs.raw.find((l) => l.startsWith('stripper-loaded='));
  assert.ok(line, `no probe line; stderr:\n${client.logs.raw.slice(-5).join('\n')}`);
  return line === 'stripper-loaded=true';
}

test('a client started through its installed command loads no TypeScript stripper, the first time either', async () => {
  const cache = join(work, 'client-cache');
  const server = await startHttpServer({
    bin: SERVER_LAUNCHER,
    env: { REACH_COMPILE_CACHE: join(work, 'server-cache') },
  });
  servers.push(server);
  assert.equal(
    await clientRun(server, { REACH_COMPILE_CACHE: cache }, CLIENT_LAUNCHER),
    false,
    'first start',
  );
  assert.equal(await clientRun(server, { REACH_COMPILE_CACHE: cache }, CLIENT_LAUNCHER), false);
  assert.ok(
    readdirSync(cache).some((f) => f.startsWith('warm-')),
    'the warm-up left its marker',
  );
  // Entries are code the process runs: nobody else may write them.
  assert.equal(statSync(cache).mode & 0o777, 0o700);
  // The same client run from src/bin.ts, or with the cache off, strips its sources every time.
  assert.equal(await clientRun(server, { REACH_COMPILE_CACHE: cache }), true);
  assert.equal(await clientRun(server, { REACH_COMPILE_CACHE: 'off' }, CLIENT_LAUNCHER), true);
});

test('a server started through its installed command loads no TypeScript stripper, the first time either', async () => {
  const env = { REACH_COMPILE_CACHE: join(work, 'server-cache-2'), NODE_OPTIONS: PROBE };
  const runs: boolean[] = [];
  for (let i = 0; i < 2; i++) {
    const server = await startHttpServer({ bin: SERVER_LAUNCHER, env });
    const exited = new Promise<void>((r) => server.proc.once('exit', () => r()));
    await server.stop();
    await exited;
    runs.push(server.logs.raw.some((l) => l === 'stripper-loaded=true'));
  }
  assert.deepEqual(runs, [false, false]);
});
