/**
 * `npm run bench:control-flood`: a reach-server process's memory under the control-channel attack
 * of issue 11 item 4, beside its idle RSS in the same run. One authorized key (never registered)
 * opens --channels (500) `reach-control` channels at once on one SSH connection; every channel the
 * server admits gets a 16 MiB length prefix followed by --body-kib (1024) KiB of body — the old
 * limit parked that, 40 channels took a server from 470 to 1,049 MiB — and then the same again
 * with the longest partial frame the 4 KiB control limit lets through. RSS is read from /proc
 * before, during, and after the connection is gone.
 *
 * Flags: --channels N (500), --body-kib N (1024), --settle-ms N (1000).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { parseArgs } from 'node:util';
import { LIMITS, LINK } from '@reach/protocol';
import ssh2 from 'ssh2';
import { authorizeSimKeys, generateSimKeys } from '../packages/server/test/helpers/many-clients.ts';
import { rssBytes, spawnServerProcess } from '../packages/server/test/helpers/server-process.ts';
import { formatTable } from './lib/measure.ts';

const { values } = parseArgs({
  options: {
    channels: { type: 'string', default: '500' },
    'body-kib': { type: 'string', default: '1024' },
    'settle-ms': { type: 'string', default: '1000' },
  },
});
const channels = Number(values.channels);
const bodyBytes = Number(values['body-kib']) * 1024;
const settleMs = Number(values['settle-ms']);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

function connect(port: number, privateKey: string): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port, username: LINK.defaultUser, privateKey, readyTimeout: 10_000 });
  });
}

interface Opened {
  stream: Duplex;
  closed: Promise<void>;
}

function openControl(c: ssh2.Client): Promise<Opened | undefined> {
  return new Promise((resolve) => {
    c.subsys(LINK.controlSubsystem, (err, stream) => {
      if (err) {
        resolve(undefined);
        return;
      }
      stream.on('error', () => {});
      const closed = new Promise<void>((r) => stream.once('close', () => r()));
      // Read what the server answers: ssh2 reports a channel's close only once its input is read.
      stream.resume();
      resolve({ stream, closed });
    });
  });
}

/** Opens `channels` control channels at once and writes `park` to each one admitted. */
async function flood(
  c: ssh2.Client,
  park: (s: Duplex) => void,
): Promise<{ admitted: number; opened: Opened[] }> {
  const all = await Promise.all(Array.from({ length: channels }, () => openControl(c)));
  const opened = all.filter((o): o is Opened => o !== undefined);
  for (const o of opened) park(o.stream);
  return { admitted: opened.length, opened };
}

const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-flood-'));
const [key] = generateSimKeys(1);
await authorizeSimKeys(dataDir, [key!]);
const server = await spawnServerProcess(dataDir);
try {
  const c = await connect(server.sshPort, key!.privateKey);
  const warm = await openControl(c);
  warm?.stream.destroy();
  await warm?.closed;
  await sleep(settleMs);
  const idle = await rssBytes(server.pid);

  const bigHead = Buffer.alloc(4);
  bigHead.writeUInt32BE(LIMITS.maxFrameBytes - 1, 0);
  const body = Buffer.alloc(bodyBytes, 0x20);
  const big = await flood(c, (s) => {
    s.write(bigHead);
    s.write(body);
  });
  await sleep(settleMs);
  const duringBig = await rssBytes(server.pid);
  // The server refused each prefix and closed the channel already (an older server parked them:
  // close them from this side); wait until every slot is free again.
  await Promise.all(
    big.opened.map((o) => {
      o.stream.destroy();
      return o.closed;
    }),
  );

  const smallHead = Buffer.alloc(4);
  smallHead.writeUInt32BE(LIMITS.maxControlRequestBytes, 0);
  const small = await flood(c, (s) => {
    s.write(smallHead);
    s.write(Buffer.alloc(LIMITS.maxControlRequestBytes - 1, 0x20));
  });
  await sleep(settleMs);
  const duringSmall = await rssBytes(server.pid);

  c.end();
  await sleep(settleMs * 2);
  const after = await rssBytes(server.pid);

  console.log(
    `\nreach-server RSS under a control-channel flood on one connection (Node ${process.version})\n`,
  );
  console.log(
    formatTable([
      ['phase', 'channels admitted', 'RSS (MiB)', 'vs idle (MiB)'],
      ['idle (baseline)', '', mib(idle), ''],
      [
        `${channels} opens, 16 MiB prefix + ${values['body-kib']} KiB each`,
        `${big.admitted} of ${channels}`,
        mib(duringBig),
        mib(duringBig - idle),
      ],
      [
        `${channels} opens, ${LIMITS.maxControlRequestBytes - 1} B partial frame each`,
        `${small.admitted} of ${channels}`,
        mib(duringSmall),
        mib(duringSmall - idle),
      ],
      ['after disconnect', '', mib(after), mib(after - idle)],
    ]),
  );
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
