/**
 * `npm run bench:exchange`: a file (1 GiB by default) client → bucket → client through a local S3
 * server (exchange_upload client_path, then exchange_download client_path: the client moves the
 * bytes itself with presigned URLs) beside upload_file of the same file (server → client over the
 * SSH link), in the same run, through real processes: s3rver (SigV4 checked), reach-server, one
 * reach client. Prints throughput of each leg and the server process's peak RSS growth during the
 * exchange legs (the bytes never pass through it; target < 64 MiB) beside its growth during
 * upload_file. Medians of `--rounds` (PITFALLS 13). s3rver itself (a Koa app writing every object
 * to disk and MD5-ing it) is the slowest hop here; R2 is not.
 *
 * Flags: --size-mib N (1024), --rounds N (3).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { authorizeKey } from '../packages/server/src/commands/authorize.ts';
import { prepareClientHome, rssKiB, startClient } from '../packages/server/test/e2e-harness.ts';
import { startS3 } from '../packages/server/test/helpers/s3-process.ts';
import {
  connect,
  kill,
  startReceiver,
  startServer,
} from '../packages/server/test/helpers/transfer-e2e-fixture.ts';
import { callTool } from '../packages/server/test/mcp/mcp-client.ts';
import { median } from './lib/measure.ts';

const { values } = parseArgs({
  options: { 'size-mib': { type: 'string', default: '1024' }, rounds: { type: 'string', default: '3' } },
});
const sizeMib = Number(values['size-mib']);
const rounds = Number(values.rounds);
if (!Number.isInteger(sizeMib) || sizeMib < 1) throw new Error('--size-mib must be a positive integer');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
const MIB = 1024 * 1024;
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function writeRandomFile(path: string): Promise<string> {
  const block = randomBytes(MIB);
  const hash = createHash('sha256');
  const fh = await open(path, 'w');
  try {
    for (let i = 0; i < sizeMib; i++) {
      block.writeUInt32BE(i, 0);
      hash.update(block);
      await fh.write(block);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

const work = await mkdtemp(join(tmpdir(), 'reach-bench-exchange-'));
const dataDir = join(work, 'server');
const clientDir = join(work, 'client-files');
await mkdir(clientDir, { recursive: true });
await mkdir(join(work, 'extra'), { recursive: true });
const s3 = await startS3(join(work, 's3'));
const receiver = await startReceiver();
const server = await startServer(dataDir, join(work, 'extra'), receiver.url, 0, s3.env());
const home = await prepareClientHome(join(work, 'client-home'), { allowedPaths: [clientDir] });
await authorizeKey(dataDir, home.publicKey);
const client = startClient(home, server.sshPort);
const mcp = await connect(server.httpPort);
const pid = server.proc.pid!;

try {
  for (let i = 0; ; i++) {
    const r = await callTool(mcp, 'list_clients');
    if (r.body.online_count === 1) break;
    if (i > 200) throw new Error('client did not come online');
    await new Promise((res) => setTimeout(res, 100));
  }
  await callTool(mcp, 'select_client', { client_id: home.uuid });
  log(`writing ${sizeMib} MiB …`);
  const want = await writeRandomFile(join(dataDir, 'transfers', 'bench.bin'));

  /** Runs one tool call, sampling the server's RSS every 50 ms; returns seconds and peak growth in MiB. */
  const timed = async (tool: string, args: Record<string, unknown>) => {
    const base = await rssKiB(pid);
    let peak = base;
    const sampler = setInterval(() => {
      rssKiB(pid).then(
        (kib) => {
          peak = Math.max(peak, kib);
        },
        () => {},
      );
    }, 50);
    const t0 = performance.now();
    const r = await callTool(mcp, tool, args, { timeout: 3_600_000 });
    const s = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    if (r.isError) throw new Error(`${tool}: ${JSON.stringify(r.body)}`);
    if (r.body.sha256 !== want) throw new Error(`${tool}: sha256 differs`);
    return { s, growthMib: (peak - base) / 1024, body: r.body };
  };

  const rows: Record<string, { s: number[]; growth: number[] }> = {
    upload_file: { s: [], growth: [] },
    'exchange client→bucket': { s: [], growth: [] },
    'exchange bucket→client': { s: [], growth: [] },
  };
  const add = (name: string, m: { s: number; growthMib: number }): void => {
    rows[name]!.s.push(m.s);
    rows[name]!.growth.push(m.growthMib);
  };
  for (let round = 0; round < rounds; round++) {
    log(`round ${round + 1}/${rounds}`);
    const src = join(clientDir, `src-${round}.bin`);
    add('upload_file', await timed('upload_file', { local_path: 'bench.bin', remote_path: src }));
    const up = await timed('exchange_upload', { client_path: src });
    add('exchange client→bucket', up);
    add(
      'exchange bucket→client',
      await timed('exchange_download', {
        transfer_id: up.body.transfer_id,
        client_path: join(clientDir, `dst-${round}.bin`),
      }),
    );
    await callTool(mcp, 'exchange_delete', { transfer_id: up.body.transfer_id, source_client: home.uuid });
    await rm(src, { force: true });
    await rm(join(clientDir, `dst-${round}.bin`), { force: true });
  }
  process.stdout.write(
    `bench:exchange — ${sizeMib} MiB, ${rounds} round(s), medians; server RSS growth = peak during the call − before it\n`,
  );
  process.stdout.write(
    `${'leg'.padEnd(26)}${'MiB/s'.padStart(10)}${'seconds'.padStart(10)}${'server RSS +MiB'.padStart(18)}\n`,
  );
  for (const [name, r] of Object.entries(rows)) {
    const s = median(r.s);
    process.stdout.write(
      `${name.padEnd(26)}${(sizeMib / s).toFixed(1).padStart(10)}${s.toFixed(2).padStart(10)}${median(r.growth).toFixed(1).padStart(18)}\n`,
    );
  }
  const round = median(rows['exchange client→bucket']!.s) + median(rows['exchange bucket→client']!.s);
  process.stdout.write(
    `client→bucket→client     ${(sizeMib / round).toFixed(1).padStart(10)}${round.toFixed(2).padStart(10)}   (baseline upload_file: ${(sizeMib / median(rows.upload_file!.s)).toFixed(1)} MiB/s)\n`,
  );
} finally {
  await mcp.close().catch(() => {});
  await client.stop();
  await kill(server.proc, 'SIGTERM');
  await receiver.close();
  await s3.stop();
  await rm(work, { recursive: true, force: true });
}
