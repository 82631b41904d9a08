/**
 * `npm run bench:update`: how long a signed client update takes, and what it sends.
 * 1. One real client (the source client behind a launcher, as the update e2e tests run it; the
 *    artifact padded to `--size-mib`, a real executable's size): time from update_clients to the
 *    client registered healthy on the new version, delivered over its SSH link (the default),
 *    beside the same with `--release-url` (HTTP from the server's /releases route) in the same run.
 * 2. `--clients N` (50) simulated clients in batches of `--batch N` (10): each fetches the artifact
 *    over its own link (a real `reach-release` channel, bytes counted and SHA-256 checked), answers
 *    `applied`, and reconnects reporting the new version; time to the rollout's `completed`.
 * Flags: --size-mib N (100), --sim-size-mib N (8), --clients N, --batch N.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LINK, ReleaseFetchAnswer, type UpdateApplyParams } from '@reach/protocol';
import { TransferChannel } from '@reach/protocol/node';
import type ssh2 from 'ssh2';
import { manifestFor, testReleaseKey } from '../packages/client/test/helpers/release-signer.ts';
import { mcpSession, startServerProcess } from '../packages/client/test/helpers/server-process.ts';
import { ARTIFACT, launcher, startUpdateHarness } from '../packages/client/test/helpers/update-harness.ts';
import {
  authorizeSimKeys,
  generateSimKeys,
  type ManyClientsOptions,
} from '../packages/server/test/helpers/many-clients.ts';
import { startSimClient } from '../packages/server/test/helpers/start-sim-client.ts';

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '100' },
    'sim-size-mib': { type: 'string', default: '8' },
    clients: { type: 'string', default: '50' },
    batch: { type: 'string', default: '10' },
  },
});
const MIB = 1024 * 1024;
const sizeMib = Number(values['size-mib']);
const simSize = Number(values['sim-size-mib']) * MIB;
const simCount = Number(values.clients);
const batch = Number(values.batch);

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}

/** Part 1: one real client, A → B, over the link or over HTTP. */
async function oneClient(via: 'link' | 'http'): Promise<{ ms: number; bytes: number }> {
  const port = await freePort();
  const h = await startUpdateHarness(launcher('1.0.0'), {
    httpPort: port,
    ...(via === 'http' ? { serverArgs: ({ http }) => ['--release-url', `http://127.0.0.1:${http}`] } : {}),
  });
  try {
    await h.startClient();
    const b = launcher('2.0.0', sizeMib * MIB);
    await h.release('2.0.0', b);
    const t0 = performance.now();
    const c = await h.rollout('2.0.0');
    const ms = performance.now() - t0;
    if (c.state !== 'healthy') throw new Error(`rollout over ${via} ended ${JSON.stringify(c)}`);
    return { ms, bytes: b.length };
  } finally {
    await h.close();
  }
}

/** Fetches `name` of `version` over `conn`'s reach-release channel; returns the bytes and their sha256. */
function fetchOverLink(
  conn: ssh2.Client,
  version: string,
  name: string,
): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    conn.subsys(LINK.releaseSubsystem, (err, stream) => {
      if (err) return reject(err);
      const ch = new TransferChannel(stream);
      const hash = createHash('sha256');
      let bytes = 0;
      void (async () => {
        await ch.writeFrame({ version, name, offset: 0 });
        const answer = await ch.readFrame(ReleaseFetchAnswer, 'answer');
        if (!answer.ok) throw new Error(answer.message);
        await ch.readBody((chunk) => {
          hash.update(chunk);
          bytes += chunk.byteLength;
        });
        ch.end();
        return { bytes, sha256: hash.digest('hex') };
      })().then(resolve, reject);
    });
  });
}

/** Part 2: N simulated clients that really fetch the artifact over their links, in batches. */
async function simulatedFleet(): Promise<{ ms: number; bytes: number; batches: number }> {
  const root = await mkdtemp(join(tmpdir(), 'reach-bench-update-'));
  const apiKey = 'bench-update-api-key-0123456789abcdef';
  const server = await startServerProcess(join(root, 'server'), apiKey);
  const closers: Array<() => void> = [];
  try {
    const keys = generateSimKeys(simCount);
    await authorizeSimKeys(join(root, 'server'), keys);
    const key = testReleaseKey();
    const body = Buffer.alloc(simSize, 0x5a);
    const manifest = manifestFor('2.0.0', ARTIFACT, body);
    const expected = createHash('sha256').update(body).digest('hex');
    const dir = join(root, 'server', 'releases', '2.0.0');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'release.json'), manifest);
    await writeFile(join(dir, 'release.json.minisig'), key.sign(manifest));
    await writeFile(join(dir, ARTIFACT), body);

    let received = 0;
    const uuids = new Map<number, string>();
    const versions = new Map<number, string>();
    const options: ManyClientsOptions = {
      port: server.sshPort,
      keys,
      uuidOf: (i) => uuids.get(i) ?? crypto.randomUUID(),
      versionOf: (i) => versions.get(i) ?? '1.0.0',
      extraHandlers: ({ index, uuid, conn }) => {
        uuids.set(index, uuid);
        return [
          [
            'update_apply',
            async (raw) => {
              const params = raw as UpdateApplyParams;
              const got = await fetchOverLink(conn, params.version, ARTIFACT);
              if (got.sha256 !== expected) throw new Error('sha256 mismatch');
              received += got.bytes;
              // Reply, then "restart": drop the link and come back on the new version.
              setTimeout(() => {
                conn.end();
                versions.set(index, params.version);
                const next = startSimClient(index, options);
                closers.push(() => next.conn.end());
                next.registered.catch(() => {});
              }, 50);
              return { accepted: true, state: 'applied', from: '1.0.0', to: params.version };
            },
          ],
        ];
      },
    };
    // 10 handshakes at a time: under the server's --max-unauthenticated early drops.
    for (let i = 0; i < keys.length; i += 10) {
      const group = keys.slice(i, i + 10).map((_, j) => startSimClient(i + j, options));
      for (const c of group) closers.push(() => c.conn.end());
      await Promise.all(group.map((c) => c.registered));
    }
    const mcp = await mcpSession(server.httpPort, apiKey);
    const t0 = performance.now();
    const started = await mcp.call('update_clients', {
      version: '2.0.0',
      target: { tags: ['sim'] },
      batch_size: batch,
      max_failures: 1,
    });
    if (started.isError) throw new Error(JSON.stringify(started));
    for (;;) {
      const s = await mcp.call('update_status', { rollout_id: started.rollout_id });
      const r = (
        s.rollouts as Array<{ state: string; batches_started: number; clients: Array<{ state: string }> }>
      )[0];
      if (r && r.state !== 'running') {
        const ms = performance.now() - t0;
        const healthy = r.clients.filter((c) => c.state === 'healthy').length;
        if (r.state !== 'completed' || healthy !== simCount)
          throw new Error(`rollout ${r.state}: ${healthy} healthy`);
        return { ms, bytes: received, batches: r.batches_started };
      }
      await new Promise((res) => setTimeout(res, 100));
    }
  } finally {
    for (const c of closers) c();
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}

console.log(`one real client, A → B, ${sizeMib} MiB artifact (median of 3, alternating)`);
const link: number[] = [];
const http: number[] = [];
let bytes = 0;
for (let i = 0; i < 3; i++) {
  const l = await oneClient('link');
  link.push(l.ms);
  bytes = l.bytes;
  http.push((await oneClient('http')).ms);
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
console.log(
  `  over the SSH link (default)   ${(med(link) / 1000).toFixed(2).padStart(6)} s   ${(bytes / MIB).toFixed(1)} MiB sent`,
);
console.log(
  `  over HTTP (--release-url)     ${(med(http) / 1000).toFixed(2).padStart(6)} s   ${(bytes / MIB).toFixed(1)} MiB sent`,
);
console.log('  (each: update_clients → download → verify → swap → restart → registered on B)');

const sim = await simulatedFleet();
console.log(
  `\n${simCount} simulated clients, batches of ${batch}, ${values['sim-size-mib']} MiB artifact each over its own link`,
);
console.log(
  `  update_clients → rollout completed: ${(sim.ms / 1000).toFixed(2)} s in ${sim.batches} batches; ` +
    `${(sim.bytes / MIB).toFixed(1)} MiB sent (${(sim.bytes / simCount / MIB).toFixed(1)} MiB per client)`,
);
