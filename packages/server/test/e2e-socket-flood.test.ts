/**
 * 300 silent sockets from one address against a real reach-server process (default admission:
 * 16 per source, early drop from 64, full at 128): the flood holds at most its per-source share
 * and a legitimate client, from another address, still connects at once; so does the real `reach`
 * client. Prints the connect times beside a baseline taken in the same run, and RSS.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ed25519KeyPair } from '../../../test-support/ed25519-key-pair.ts';
import { authorizeKey } from '../src/commands/authorize.ts';
import { prepareClientHome, startClient } from './e2e-harness.ts';
import { rssBytes, type ServerProcess, spawnServerProcess } from './helpers/server-process.ts';
import { silentFlood, sshConnectMs } from './helpers/ssh-flood.ts';
import { tempDir } from './link-harness.ts';

const FLOOD = 300;
const FLOOD_FROM = '127.0.0.2';

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

    const attack = silentFlood(server.sshPort, FLOOD_FROM, FLOOD);
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
