/**
 * The Linux x86_64 single executables end to end, from a directory with no node_modules and no
 * `node` on PATH: reach-server started, `reach --init` / `--generate-key`, the key authorized with
 * `reach-server authorize`, the client connected, run_command, 100 MiB up and down with equal
 * sha256; the release installed and served (`curl` of /latest/reach-linux byte for byte, then a
 * resumed range); the portable archive's setup.sh and run.sh in a temporary HOME.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { LogWatch } from '../../packages/server/test/mcp/harness.ts';
import { callTool, ok } from '../../packages/server/test/mcp/mcp-client.ts';
import { stopChild } from '../../test-support/stop-child.ts';
import {
  bareEnv,
  isolatedCopies,
  loadManifest,
  noNodeOn,
  RELEASE,
  sha256File,
  toolsDir,
} from './release-dir.ts';

const run = promisify(execFile);
const MIB = 1024 * 1024;
const BIG = 100 * MIB;
const API_KEY = 'release-e2e-key-51c0';

async function writeRandomFile(path: string, size: number): Promise<void> {
  const block = randomBytes(MIB);
  const fh = await open(path, 'w');
  try {
    for (let off = 0; off < size; off += MIB) {
      block.writeUInt32BE(off / MIB, 0);
      await fh.write(block, 0, Math.min(MIB, size - off));
    }
  } finally {
    await fh.close();
  }
}

describe('release executables end to end (linux x86_64, no node)', () => {
  const manifest = loadManifest();
  let work = '';
  let bin = '';
  let path = '';
  let dataDir = '';
  let home = '';
  let clientDir = '';
  let server: ChildProcess | undefined;
  let client: ChildProcess | undefined;
  let mcp: Client | undefined;
  let httpPort = 0;
  let sshPort = 0;
  const procs: ChildProcess[] = [];

  const serverExe = (): string => join(bin, 'reach-server-linux-x86_64');
  const clientExe = (): string => join(bin, 'reach-linux-x86_64');
  const env = (extra: Record<string, string> = {}): Record<string, string> =>
    bareEnv({ PATH: path, HOME: home, REACH_HOME: join(home, '.reach'), ...extra });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'reach-release-e2e-'));
    bin = await isolatedCopies(['reach-linux-x86_64', 'reach-server-linux-x86_64']);
    path = `${bin}:${await toolsDir()}`;
    assert.ok(noNodeOn(path), 'no node on the PATH the executables get');
    for (let d = bin; d !== '/'; d = join(d, '..')) {
      assert.ok(!existsSync(join(d, 'node_modules')), `no node_modules above the executables (${d})`);
    }
    dataDir = join(work, 'server');
    home = join(work, 'home');
    clientDir = join(work, 'client-files');
    await mkdir(home);
    await mkdir(clientDir);
  });

  after(async () => {
    await mcp?.close().catch(() => {});
    for (const p of [client, server, ...procs]) if (p) await stopChild(p, 5000);
    await rm(work, { recursive: true, force: true });
    await rm(bin, { recursive: true, force: true });
  });

  test('reach-server release install puts dist/release where the server serves it', async () => {
    const { stdout } = await run(serverExe(), ['release', 'install', RELEASE, '--data-dir', dataDir], {
      env: env(),
    });
    assert.match(stdout, new RegExp(`installed release ${manifest.version.replaceAll('.', '\\.')}`));
  });

  test('server started; client --init, --generate-key, authorized, connected', async () => {
    server = spawn(
      serverExe(),
      [
        '--transport',
        'http',
        '--port',
        '0',
        '--ssh-port',
        '0',
        '--ssh-host',
        '127.0.0.1',
        '--data-dir',
        dataDir,
      ],
      { env: env({ REACH_API_KEY: API_KEY, REACH_LOG_LEVEL: 'info' }), stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const logs = new LogWatch(server.stderr!);
    sshPort = Number((await logs.waitFor((l) => l.msg === 'ssh listening')).port);
    httpPort = Number((await logs.waitFor((l) => l.msg === 'http listening')).port);

    const init = await run(clientExe(), ['--init'], { env: env() });
    assert.match(init.stdout, /UUID: [0-9a-f-]{36}/);
    const key = await run(clientExe(), ['--generate-key'], { env: env() });
    const line = /reach-server authorize '([^']+)'/.exec(key.stdout)?.[1];
    if (!line?.startsWith('ssh-ed25519 ')) throw new Error(`no authorize line in: ${key.stdout}`);
    const auth = await run(serverExe(), ['authorize', line, '--data-dir', dataDir], { env: env() });
    assert.match(auth.stdout, /authorized SHA256:/);
    const version = await run(clientExe(), ['--version'], { env: env() });
    assert.equal(version.stdout, `reach ${manifest.version} (node ${manifest.node}, ssh crypto: native)\n`);

    client = spawn(clientExe(), ['-s', '127.0.0.1', '-p', String(sshPort)], {
      env: env({
        REACH_ALLOWED_PATHS: clientDir,
        REACH_RECONNECT_DELAY: '0.2',
        REACH_DISPLAY_NAME: 'sea-client',
      }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    client.stderr?.resume();
    mcp = new Client({ name: 'reach-release-e2e', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${httpPort}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
      }),
    );
    const deadline = Date.now() + 30_000;
    let online = 0;
    while (online !== 1 && Date.now() < deadline) {
      const r = await callTool(mcp, 'list_clients');
      online = Number(r.body.online_count);
      if (online !== 1) await new Promise((r2) => setTimeout(r2, 200));
    }
    assert.equal(online, 1, 'the client came online');
    await ok(mcp, 'select_client', { client_id: 'sea-client' }).catch(async () => {
      const uuid = (await run(clientExe(), ['--show-uuid'], { env: env() })).stdout.trim();
      return ok(mcp!, 'select_client', { client_id: uuid });
    });
  });

  test('run_command on the executable client, which has no node either', async () => {
    assert.ok(mcp);
    const r = await ok(mcp, 'run_command', { cmd: 'echo from-sea; command -v node || echo no-node' });
    assert.equal(r.stdout, 'from-sea\nno-node\n');
  });

  test('100 MiB upload_file and download_file: sha256 equal both ways', async () => {
    assert.ok(mcp);
    const src = join(dataDir, 'transfers', 'big.bin');
    await mkdir(join(dataDir, 'transfers'), { recursive: true });
    await writeRandomFile(src, BIG);
    const sha = await sha256File(src);
    const up = await callTool(
      mcp,
      'upload_file',
      { local_path: 'big.bin', remote_path: join(clientDir, 'big.bin') },
      { timeout: 180_000 },
    );
    assert.equal(up.isError, false, JSON.stringify(up.body));
    assert.equal(up.body.sha256, sha);
    assert.equal(await sha256File(join(clientDir, 'big.bin')), sha);
    const down = await callTool(
      mcp,
      'download_file',
      { remote_path: join(clientDir, 'big.bin'), local_path: 'back.bin' },
      { timeout: 180_000 },
    );
    assert.equal(down.isError, false, JSON.stringify(down.body));
    assert.equal(down.body.sha256, sha);
    assert.equal(await sha256File(join(dataDir, 'transfers', 'back.bin')), sha);
    await rm(src);
    await rm(join(dataDir, 'transfers', 'back.bin'));
    await rm(join(clientDir, 'big.bin'));
  });

  test('curl /latest/reach-linux: the executable byte for byte, and a cut download resumed', async () => {
    const exe = manifest.artifacts.find((a) => a.name === 'reach-linux-x86_64');
    assert.ok(exe);
    const url = `http://127.0.0.1:${httpPort}/latest/reach-linux`;
    const out = join(work, 'reach-linux');
    await run('curl', ['-sSf', '-o', out, url]);
    assert.equal(await sha256File(out), exe.sha256);
    // Keep the first third as if the transfer had been cut, then let curl resume it (-C -).
    await truncate(out, Math.floor(exe.size / 3));
    const { stdout } = await run('curl', [
      '-sSf',
      '-C',
      '-',
      '-o',
      out,
      '-w',
      '%{http_code} %{size_download}',
      url,
    ]);
    assert.equal(stdout, `206 ${exe.size - Math.floor(exe.size / 3)}`);
    assert.equal(await sha256File(out), exe.sha256);
    const head = await run('curl', ['-sSfI', url]);
    assert.match(head.stdout, new RegExp(`content-length: ${exe.size}\\r\\n`, 'i'));
    assert.match(head.stdout, new RegExp(`etag: "${exe.sha256}"`, 'i'));
  });

  test('portable archive: setup.sh and run.sh in a temporary HOME', async () => {
    const unpack = await mkdtemp(join(tmpdir(), 'reach-portable-'));
    const tempHome = await mkdtemp(join(tmpdir(), 'reach-portable-home-'));
    try {
      await run('tar', ['-xzf', join(RELEASE, 'reach-linux-x86_64.tar.gz'), '-C', unpack]);
      const dir = join(unpack, 'reach');
      const tools = path.split(':')[1] ?? '';
      const penv = bareEnv({ PATH: tools, HOME: tempHome });
      const setup = await run(join(dir, 'setup.sh'), [], { env: penv });
      const pub = (await readFile(join(tempHome, '.reach', 'id_ed25519.pub'), 'utf8')).trim();
      assert.ok(setup.stdout.includes(`reach-server authorize '${pub}'`), setup.stdout);
      const again = await run(join(dir, 'setup.sh'), [], { env: penv });
      assert.match(again.stdout, /A key already exists \(kept\)/);
      assert.equal((await readFile(join(tempHome, '.reach', 'id_ed25519.pub'), 'utf8')).trim(), pub);
      const v = await run(join(dir, 'run.sh'), ['--version'], { env: penv });
      assert.equal(v.stdout, `reach ${manifest.version} (node ${manifest.node}, ssh crypto: native)\n`);
      const uuid = await run(join(dir, 'run.sh'), ['--show-uuid'], { env: penv });
      assert.match(uuid.stdout, /^[0-9a-f-]{36}\n$/);
    } finally {
      await rm(unpack, { recursive: true, force: true });
      await rm(tempHome, { recursive: true, force: true });
    }
  });
});
