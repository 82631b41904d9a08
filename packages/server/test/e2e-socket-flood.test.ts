/**
 * 300 silent sockets from one address against a real reach-server process (default admission:
 * 16 per source, early drop from 64, full at 128): the flood holds at most its per-source share
 * and a legitimate client, from another address, still connects at once; so does the real `reach`
 * client. Prints the connect times beside a baseline taken in the same run, and RSS.
 */
import assert from 'node:assert/strict';
import { type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../../test-support/ed25519-key-pair.ts';
import { authorizeKey } from '../src/commands/authorize.ts';
import { prepareClientHome, startClient } from './e2e-harness.ts';
import { rssBytes, type ServerProcess, spawnServerProcess } from './helpers/server-process.ts';
import { tempDir } from './link-harness.ts';

const FLOOD = 300;
const FLOOD_FROM = '127.0.0.2';

/** ms from TCP connect to an authenticated SSH session, or the error that ended it. */
function sshConnectMs(port: number, privateKey: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => {
      resolve(performance.now() - t0);
      c.end();
    });
    c.on('error', reject); // ssh2 may report a dropped connection twice
    c.connect({
      host: '127.0.0.1',
      port,
      username: 'reach',
      privateKey,
      hostVerifier: () => true,
      readyTimeout: 20_000,
    });
  });
}

/** Keeps `count` silent sockets from `from` pointed at the server: each one dropped is reopened. */
function flood(port: number, from: string, count: number): { open(): number; stop(): void } {
  const sockets = new Set<Socket>();
  let stopped = false;
  const openOne = (): void => {
    if (stopped) return;
    const s = tcpConnect({ host: '127.0.0.1', port, localAddress: from });
    s.on('error', () => {});
    s.resume();
    s.once('connect', () => sockets.add(s));
    s.once('close', () => {
      sockets.delete(s);
      // Reopen after a second: the pressure stays on without turning into a connect-rate test
      // that eats the CPU the legitimate client needs (~280 reconnects a second here).
      setTimeout(openOne, 1000);
    });
  };
  for (let i = 0; i < count; i++) openOne();
  return {
    open: () => sockets.size,
    stop: () => {
      stopped = true;
      for (const s of sockets) s.destroy();
    },
  };
}

describe('e2e: silent socket flood from one address (server process)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ServerProcess;
  const key = ed25519KeyPair('legit');

  before(async () => {
    dir = await tempDir('reach-e2e-flood-');
    const dataDir = join(dir.path, 'data');
    server = await spawnServerProcess(dataDir);
    await authorizeKey(dataDir, key.public);
  });
  after(async () => {
    await server?.stop();
    await dir?.remove();
  });

  test('a legitimate client connects while 300 silent sockets come from one address', {
    timeout: 120_000,
  }, async () => {
    const home = await prepareClientHome(join(dir.path, 'client'), { serverDataDir: join(dir.path, 'data') });
    /** ms from starting `reach` until the server counts it online (it is stopped after). */
    const reachOnlineMs = async (): Promise<number> => {
      const t0 = performance.now();
      const client = startClient(home, server.sshPort);
      try {
        while ((await server.clientCounts()).online !== 1) {
          if (client.proc.exitCode !== null) throw new Error(`reach exited:\n${client.output()}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        return performance.now() - t0;
      } finally {
        await client.stop();
        while ((await server.clientCounts()).online !== 0) await new Promise((r) => setTimeout(r, 50));
      }
    };
    await sshConnectMs(server.sshPort, key.private); // warm-up
    const baselineMs = await sshConnectMs(server.sshPort, key.private);
    const reachBaselineMs = await reachOnlineMs();
    const rssBefore = await rssBytes(server.pid);

    const attack = flood(server.sshPort, FLOOD_FROM, FLOOD);
    try {
      // Let the flood reach the server: every socket either accepted (and held) or dropped once.
      await new Promise((r) => setTimeout(r, 1500));
      const held = attack.open();
      const floodMs = await sshConnectMs(server.sshPort, key.private);
      const reachFloodMs = await reachOnlineMs();
      const rssAfter = await rssBytes(server.pid);
      const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
      console.log(
        `ssh connect+auth: baseline ${baselineMs.toFixed(0)} ms, during the flood ${floodMs.toFixed(0)} ms; ` +
          `reach start to online: baseline ${reachBaselineMs.toFixed(0)} ms, during the flood ` +
          `${reachFloodMs.toFixed(0)} ms; flood sockets held by the server ${held}/${FLOOD}; ` +
          `RSS ${mib(rssBefore)} -> ${mib(rssAfter)} MiB`,
      );
      assert.ok(held <= 16, `${held} flood sockets held: more than the per-source cap`);
      assert.ok(rssAfter - rssBefore < 32 * 1024 * 1024, `RSS grew by ${mib(rssAfter - rssBefore)} MiB`);
    } finally {
      attack.stop();
    }
    assert.equal(server.child.exitCode, null, 'server still running');
  });
});
