/**
 * `npm run bench:release`: what the release costs and how its client executable behaves, beside
 * the same client run by node from the source (type stripping) and from the npm bundle.
 * - size of every executable and archive in dist/release (target: archive ≤ 45 MB);
 * - start-up to `--version` exit, median of alternating runs (target ≤ 80 ms);
 * - idle RSS of the connected client, 3 s after it came online (target ≤ 45 MiB);
 * - bench:transfer with the executable as the client (target: still ≥ 1.5× OpenSSH both ways).
 * Needs `npm run release` (and `npm run build`) first. Flags: --runs N (15), --size-mib N (256),
 * --rounds N (3), --no-transfer.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { ReleaseManifestSchema } from '@reach/protocol';
import { median } from './lib/measure.ts';
import { startReach } from './lib/reach-under-test.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' },
    'size-mib': { type: 'string', default: '256' },
    rounds: { type: 'string', default: '3' },
    'no-transfer': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const ROOT = join(import.meta.dirname, '..');
const RELEASE = join(ROOT, 'dist', 'release');
const SEA = join(RELEASE, 'reach-linux-x86_64');
const manifest = ReleaseManifestSchema.parse(JSON.parse(readFileSync(join(RELEASE, 'release.json'), 'utf8')));
const MB = 1e6;
const MIB = 1024 * 1024;

console.log(`release ${manifest.version} (node ${manifest.node}): sizes`);
for (const a of manifest.artifacts) {
  const target = a.kind === 'archive' ? `  (target ≤ 45 MB) ${a.size <= 45 * MB ? 'ok' : 'over target'}` : '';
  console.log(`  ${a.name.padEnd(30)} ${(a.size / MB).toFixed(1).padStart(7)} MB${target}`);
}

/** The client three ways: the executable, node on the npm bundle, node on the source (baseline). */
const variants: { name: string; cmd: string[] }[] = [
  { name: 'executable (SEA)', cmd: [SEA, '--version'] },
  { name: 'node + npm bundle', cmd: [process.execPath, join(ROOT, 'dist/npm/reach/reach.js'), '--version'] },
  {
    name: 'node + source (.ts)',
    cmd: [process.execPath, join(ROOT, 'packages/client/src/bin.ts'), '--version'],
  },
  // The floor: Node starting and exiting with nothing to load.
  { name: 'node -e 0 (floor)', cmd: [process.execPath, '-e', '0'] },
];

const run = promisify(execFile);
async function timeVersion(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  await run(cmd[0] ?? '', cmd.slice(1));
  return performance.now() - t0;
}
const times = new Map<string, number[]>(variants.map((v) => [v.name, []]));
for (const v of variants) await timeVersion(v.cmd); // warm the page cache
for (let i = 0; i < runs; i++) for (const v of variants) times.get(v.name)?.push(await timeVersion(v.cmd));
console.log(`\nstart-up to exit, median of ${runs} alternating runs`);
for (const v of variants) {
  const ms = median(times.get(v.name) ?? []);
  const target = v.cmd[0] === SEA ? `  (target ≤ 80 ms) ${ms <= 80 ? 'ok' : 'over target'}` : '';
  console.log(`  ${v.name.padEnd(22)} ${ms.toFixed(0).padStart(5)} ms${target}`);
}

async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024;
}
console.log('\nidle RSS of the connected client, 3 s after it came online');
for (const v of [variants[0], variants[2]]) {
  if (v === undefined) continue;
  const reach = await startReach(v.cmd[0] === SEA ? { clientExe: SEA } : {});
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const rss = await rssOf(reach.clientPid);
    const target = v.cmd[0] === SEA ? `  (target ≤ 45 MiB) ${rss <= 45 * MIB ? 'ok' : 'over target'}` : '';
    console.log(`  ${v.name.padEnd(22)} ${(rss / MIB).toFixed(1).padStart(6)} MiB${target}`);
  } finally {
    await reach.stop();
  }
}

{
  // The floor: Node idling with nothing loaded.
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 3000));
    console.log(
      `  ${'node -e idle (floor)'.padEnd(22)} ${((await rssOf(idle.pid ?? 0)) / MIB).toFixed(1).padStart(6)} MiB`,
    );
  } finally {
    idle.kill();
  }
}

if (!values['no-transfer']) {
  console.log(
    `\nbench:transfer with the executable as the client (${values['size-mib']} MiB, ${values.rounds} rounds)`,
  );
  const dir = await mkdtemp(join(tmpdir(), 'reach-bench-release-'));
  try {
    const json = join(dir, 'transfer.json');
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        join(ROOT, 'bench/transfer.ts'),
        '--client-exe',
        SEA,
        '--size-mib',
        String(values['size-mib']),
        '--rounds',
        String(values.rounds),
        '--json',
        json,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const code = await new Promise<number | null>((r) => child.on('close', r));
    if (code !== 0) throw new Error(`bench:transfer exited ${code}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
