// `npm run release`: single executables, portable archives, release.json and SHA256SUMS in
// dist/release/ for the version in package.json (see README "Deploying the client").
// `--only NAME,…` builds just those executables (and the archives made from them), for quick tries.
// `--sign-key FILE` (or REACH_RELEASE_SIGN_KEY=FILE) signs release.json into release.json.minisig
// with the key `reach-server release-key generate` made; the key is read before the slow build.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  MANIFEST_FILE,
  type ReleaseArtifact,
  ReleaseManifestSchema,
  SIGNATURE_FILE,
  SUMS_FILE,
  sha256Sums,
} from '@reach/protocol';
import { SERVICE_V8_FLAGS } from '@reach/protocol/node';
import { readSecretKeyFile, signReleaseDir } from '../packages/server/src/releases/release-sign.ts';
import { BINS, buildSeaBundle, REPO, readPackage } from './build/bundles.ts';
import { makeArchive } from './release/archives.ts';
import { nodeBinary, pinnedNodeVersion } from './release/node-binaries.ts';
import { makeBlob, makeExecutable } from './release/sea.ts';
import { ARCHIVES, EXECUTABLES, type ExecutableTarget } from './release/targets.ts';

const DIST = join(REPO, 'dist');
// `--out DIR` writes the release elsewhere (a test building one executable beside a full build
// must not replace the dist/release the release tests are reading).
const outAt = process.argv.indexOf('--out');
const OUT = outAt >= 0 ? resolve(process.argv[outAt + 1] ?? '') : join(DIST, 'release');
const CACHE = join(DIST, 'cache');
const SSHCRYPTO = join(REPO, 'node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');

const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set((process.argv[onlyAt + 1] ?? '').split(',')) : undefined;
const executables = EXECUTABLES.filter((t) => only === undefined || only.has(t.name));
const archives = ARCHIVES.filter((a) => executables.some((e) => e.name === a.executable));
const signAt = process.argv.indexOf('--sign-key');
const signKeyFile = signAt >= 0 ? process.argv[signAt + 1] : process.env.REACH_RELEASE_SIGN_KEY || undefined;
const signKey = signKeyFile === undefined ? undefined : await readSecretKeyFile(signKeyFile);

const log = (line: string): void => {
  process.stderr.write(`release: ${line}\n`);
};

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

function hasTool(tool: string): boolean {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Runs `jobs` at most `limit` at a time (postject is single-threaded: one per CPU). */
async function parallel<T>(
  items: readonly T[],
  limit: number,
  job: (item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await job(item);
  });
  await Promise.all(workers);
}

if (!existsSync(SSHCRYPTO)) {
  throw new Error(
    `${SSHCRYPTO} is missing: run \`npm install\` (its postinstall builds ssh2's addon for Node 24)`,
  );
}
const version = readPackage(REPO).version;
const node = pinnedNodeVersion();
const started = Date.now();
const work = join(DIST, `.release-${process.pid}`);
await rm(work, { recursive: true, force: true });
await mkdir(work, { recursive: true });
await mkdir(CACHE, { recursive: true });
try {
  // One CommonJS bundle per bin, and two blobs from each: with the native addon and V8's code cache
  // for linux-x64 (the Node making the blob), without either for the other targets.
  const blobs = new Map<string, string>();
  for (const bin of BINS) {
    const main = join(work, `${bin.name}.cjs`);
    await buildSeaBundle(bin, main);
    // Both run for months: a 1 MiB young generation (V8's default grows it to 16 MiB) took the
    // client's idle RSS from 97 to 91 MiB (bench:release) and kept a busy client and server flat in
    // bench:soak (SERVICE_V8_FLAGS says by how much); units started with node get the same flags.
    const execArgv = [...SERVICE_V8_FLAGS];
    const native = join(work, `${bin.name}-native.blob`);
    await makeBlob({
      main,
      out: native,
      assets: { 'sshcrypto.node': SSHCRYPTO },
      useCodeCache: true,
      execArgv,
    });
    const portable = join(work, `${bin.name}-portable.blob`);
    await makeBlob({ main, out: portable, assets: {}, useCodeCache: false, execArgv });
    blobs.set(`${bin.name}:native`, native);
    blobs.set(`${bin.name}:portable`, portable);
  }
  const isHost = (t: ExecutableTarget): boolean => t.nodePackage === null;
  // Fetch each target's Node once before the parallel injections share it.
  const nodes = new Map<string | null, string>();
  for (const pkg of new Set(executables.map((t) => t.nodePackage)))
    nodes.set(pkg, await nodeBinary(pkg, CACHE));

  const artifacts: ReleaseArtifact[] = [];
  await parallel(executables, Math.max(1, availableParallelism()), async (t) => {
    const out = join(work, t.name);
    let strip = t.strip;
    if (strip !== null && !hasTool(strip)) {
      log(`${strip} not found: ${t.name} keeps its symbols (apt-get install binutils-aarch64-linux-gnu)`);
      strip = null;
    }
    await makeExecutable({
      node: nodes.get(t.nodePackage) ?? '',
      blob: blobs.get(`${t.bin}:${isHost(t) ? 'native' : 'portable'}`) ?? '',
      out,
      strip,
    });
    log(`${t.name} (${((await stat(out)).size / 1e6).toFixed(1)} MB)`);
  });
  for (const t of executables) {
    const file = join(work, t.name);
    artifacts.push({
      name: t.name,
      kind: 'executable',
      bin: t.bin,
      platform: t.platform,
      arch: t.arch,
      size: (await stat(file)).size,
      sha256: await sha256(file),
      aliases: t.aliases,
      crypto: isHost(t) ? 'native' : 'js',
    });
  }
  await parallel(archives, Math.max(1, availableParallelism()), async (a) => {
    await makeArchive(a, work, join(work, 'stage'));
    log(`${a.name} (${((await stat(join(work, a.name))).size / 1e6).toFixed(1)} MB)`);
  });
  for (const a of archives) {
    const exe = EXECUTABLES.find((e) => e.name === a.executable);
    if (exe === undefined) throw new Error(`archive ${a.name}: no executable ${a.executable}`);
    const file = join(work, a.name);
    artifacts.push({
      name: a.name,
      kind: 'archive',
      bin: exe.bin,
      platform: exe.platform,
      arch: exe.arch,
      size: (await stat(file)).size,
      sha256: await sha256(file),
      aliases: [],
      crypto: isHost(exe) ? 'native' : 'js',
    });
  }
  const manifest = ReleaseManifestSchema.parse({ version, node, artifacts });
  await writeFile(join(work, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(work, SUMS_FILE), sha256Sums(manifest));
  const signed = signKey === undefined ? undefined : await signReleaseDir(work, signKey);
  if (signed !== undefined) log(`${MANIFEST_FILE} signed by release key ${signed.keyId}`);

  // Only the artifacts, the manifest and the sums move into dist/release, replacing the last one.
  const staged = join(dirname(OUT), `.release-out-${process.pid}`);
  await rm(staged, { recursive: true, force: true });
  await mkdir(staged);
  const extra = signed === undefined ? [] : [SIGNATURE_FILE];
  for (const name of [...artifacts.map((a) => a.name), MANIFEST_FILE, SUMS_FILE, ...extra]) {
    await rename(join(work, name), join(staged, name));
  }
  await rm(OUT, { recursive: true, force: true });
  await rename(staged, OUT);
  log(
    `${relative(REPO, OUT)}: ${artifacts.length} artifacts of ${version} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
