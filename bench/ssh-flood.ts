/**
 * `npm run bench:ssh-flood`: what a flood of silent sockets from one address costs a legitimate
 * client. A reach-server process (default admission) is measured twice in one run: the time from
 * TCP connect to an authenticated SSH session from 127.0.0.1, median of --rounds, first with no
 * flood (the baseline), then while --sockets silent sockets come from 127.0.0.2 (each one dropped
 * is reopened after a second). Server RSS is printed before and after the flood.
 *
 * Flags: --sockets N (300), --rounds N (20).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { authorizeKey } from '../packages/server/src/commands/authorize.ts';
import { rssBytes, spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { silentFlood, sshConnectMs } from '../packages/server/test/helpers/ssh-flood.ts';
import { ed25519KeyPair } from '../test-support/ed25519-key-pair.ts';
import { formatTable, median, ms } from './lib/measure.ts';

const { values } = parseArgs({
  options: { sockets: { type: 'string', default: '300' }, rounds: { type: 'string', default: '20' } },
});
const sockets = Number(values.sockets);
const rounds = Number(values.rounds);
if (!Number.isInteger(sockets) || sockets < 1 || !Number.isInteger(rounds) || rounds < 1) {
  throw new Error('--sockets and --rounds must be positive integers');
}

const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-flood-'));
const server = await spawnServerProcess(dataDir);
try {
  const key = ed25519KeyPair('bench');
  await authorizeKey(dataDir, key.public);
  const measure = async (): Promise<{ median: number; max: number; failed: number }> => {
    const times: number[] = [];
    let failed = 0;
    for (let i = 0; i < rounds; i++) {
      await sshConnectMs(server.sshPort, key.private).then(
        (t) => times.push(t),
        () => failed++,
      );
    }
    return { median: median(times), max: Math.max(...times), failed };
  };
  await sshConnectMs(server.sshPort, key.private); // warm-up
  const baseline = await measure();
  const rssBefore = await rssBytes(server.pid);
  const flood = silentFlood(server.sshPort, '127.0.0.2', sockets);
  await new Promise((r) => setTimeout(r, 1500));
  const held = flood.open();
  const flooded = await measure();
  const rssAfter = await rssBytes(server.pid);
  flood.stop();
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  console.log(
    formatTable([
      ['ssh connect + auth from 127.0.0.1', 'median ms', 'max ms', 'failed', 'server RSS MiB'],
      ['baseline (no flood)', ms(baseline.median), ms(baseline.max), String(baseline.failed), mib(rssBefore)],
      [
        `${sockets} silent sockets from 127.0.0.2 (${held} held)`,
        ms(flooded.median),
        ms(flooded.max),
        String(flooded.failed),
        mib(rssAfter),
      ],
    ]),
  );
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
