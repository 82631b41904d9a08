/**
 * upload_file / download_file end to end: a real reach-server process (MCP over HTTP) and a real
 * reach client process over loopback SSH. Sizes from 0 bytes to 256 MiB, a directory tree, RPC
 * during a transfer, path refusals, and transfers cut by SIGKILL (client, then server) resumed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { authorizeKey } from '../src/commands/authorize.ts';
import { type ClientHome, type Proc, prepareClientHome, startClient } from './e2e-harness.ts';
import { LogWatch } from './mcp/harness.ts';
import { callTool, fails, ok } from './mcp/mcp-client.ts';

const SERVER_BIN = join(import.meta.dirname, '..', 'src', 'bin.ts');
const API_KEY = 'transfer-test-key-3b9d';
const MIB = 1024 * 1024;
const BIG = 256 * MIB;

interface ServerHandle {
  proc: ChildProcess;
  logs: LogWatch;
  sshPort: number;
  httpPort: number;
}

/** reach-server --transport http on loopback; `sshPort` fixed to come back on the same port. */
async function startServer(
  dataDir: string,
  extraRoot: string,
  webhookUrl: string,
  sshPort = 0,
): Promise<ServerHandle> {
  const proc = spawn(
    process.execPath,
    [
      SERVER_BIN,
      '--transport',
      'http',
      '--port',
      '0',
      '--ssh-host',
      '127.0.0.1',
      '--ssh-port',
      String(sshPort),
      '--data-dir',
      dataDir,
      '--api-key',
      API_KEY,
      '--transfer-root',
      extraRoot,
      '--webhook-url',
      webhookUrl,
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, REACH_LOG_LEVEL: 'info' } },
  );
  const logs = new LogWatch(proc.stderr!);
  const ssh = await logs.waitFor((l) => l.msg === 'ssh listening');
  const http = await logs.waitFor((l) => l.msg === 'http listening');
  return { proc, logs, sshPort: Number(ssh.port), httpPort: Number(http.port) };
}

/** A loopback webhook receiver: keeps every JSON body it is sent and answers 200. */
async function startReceiver(): Promise<{ url: string; events: WebhookBody[]; close(): Promise<void> }> {
  const events: WebhookBody[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookBody);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface WebhookBody {
  id: string;
  event: string;
  data: Record<string, unknown>;
}

async function kill(proc: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function connect(httpPort: number): Promise<Client> {
  const client = new Client({ name: 'reach-transfer-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${httpPort}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
    }),
  );
  return client;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: MIB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes `size` bytes of incompressible data quickly (one random MiB, stamped per MiB). */
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

/** Resolves once a partial file named `.<name>.reach-partial-*` in `dir` holds at least `bytes`. */
async function partialReaches(dir: string, name: string, bytes: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const n of await readdir(dir).catch(() => [] as string[])) {
      if (!n.startsWith(`.${name}.reach-partial-`)) continue;
      const st = await stat(join(dir, n)).catch(() => undefined);
      if (st && st.size >= bytes) return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no partial of ${name} reached ${bytes} bytes`);
}

describe('file transfer over the link, real processes', () => {
  let work: string;
  let dataDir: string;
  let root: string;
  let extraRoot: string;
  let clientDir: string;
  let server: ServerHandle;
  let home: ClientHome;
  let client: Proc;
  let mcp: Client;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let bigSha = '';

  const online = async (): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const r = await callTool(mcp, 'list_clients').catch(() => undefined);
      if (r && !r.isError && r.body.online_count === 1) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('client did not come online');
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'reach-transfer-e2e-'));
    dataDir = join(work, 'server');
    root = join(dataDir, 'transfers');
    extraRoot = join(work, 'extra-root');
    clientDir = join(work, 'client-files');
    await mkdir(extraRoot, { recursive: true });
    await mkdir(clientDir, { recursive: true });
    receiver = await startReceiver();
    server = await startServer(dataDir, extraRoot, receiver.url);
    home = await prepareClientHome(join(work, 'client-home'), { allowedPaths: [clientDir] });
    await authorizeKey(dataDir, home.publicKey);
    client = startClient(home, server.sshPort);
    mcp = await connect(server.httpPort);
    await online();
    await ok(mcp, 'select_client', { client_id: home.uuid });
    await writeRandomFile(join(root, 'big.bin'), BIG);
    bigSha = await sha256File(join(root, 'big.bin'));
  });

  after(async () => {
    await mcp?.close().catch(() => {});
    await client?.stop();
    if (server) await kill(server.proc, 'SIGTERM');
    await receiver?.close();
    await rm(work, { recursive: true, force: true });
  });

  test('0 B, 1 B and 1 MiB files go up and come back with equal sha256', async () => {
    for (const size of [0, 1, MIB]) {
      const body = randomBytes(size);
      const name = `s${size}.bin`;
      await writeFile(join(root, name), body, { mode: 0o640 });
      const want = createHash('sha256').update(body).digest('hex');
      const up = await ok(mcp, 'upload_file', { local_path: name, remote_path: join(clientDir, 'in', name) });
      assert.equal(up.size, size);
      assert.equal(up.sha256, want);
      assert.equal(up.method, 'ssh-stream');
      for (const key of ['uploaded', 'duration_ms', 'throughput_mib_s']) assert.ok(key in up, key);
      assert.deepEqual(await readFile(join(clientDir, 'in', name)), body);
      assert.equal((await stat(join(clientDir, 'in', name))).mode & 0o777, 0o640);
      const down = await ok(mcp, 'download_file', {
        remote_path: join(clientDir, 'in', name),
        local_path: join(extraRoot, 'back', name),
      });
      assert.equal(down.sha256, want);
      assert.equal(down.downloaded, join(clientDir, 'in', name));
      assert.deepEqual(await readFile(join(extraRoot, 'back', name)), body);
    }

    // Each transfer ends with a file_transferred webhook and an audit entry.
    const deadline = Date.now() + 20_000;
    const transferred = () => receiver.events.filter((e) => e.event === 'file_transferred');
    while (transferred().length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const sent = transferred();
    assert.equal(sent.length, 6, 'one file_transferred webhook per transfer');
    const mib = sent.filter((e) => e.data.size === MIB);
    assert.deepEqual(mib.map((e) => e.data.direction).sort(), ['download', 'upload']);
    for (const e of mib) {
      assert.equal(e.data.remote_path, join(clientDir, 'in', `s${MIB}.bin`));
      assert.equal(
        e.data.sha256,
        createHash('sha256')
          .update(await readFile(join(root, `s${MIB}.bin`)))
          .digest('hex'),
      );
    }
    const audit = await ok(mcp, 'get_audit_log', { tool: 'upload_file', limit: 10 });
    assert.ok((audit.count as number) >= 3, 'upload_file calls are audited');
  });

  test('256 MiB both ways: sha256 equal, progress reported, run_command answered meanwhile', async () => {
    const progress: number[] = [];
    const dest = join(clientDir, 'big.bin');
    let uploadDone = false;
    const upload = callTool(
      mcp,
      'upload_file',
      { local_path: 'big.bin', remote_path: dest },
      { onprogress: (p) => progress.push(p.progress), timeout: 120_000 },
    ).finally(() => {
      uploadDone = true;
    });
    await partialReaches(clientDir, 'big.bin', 16 * MIB);
    const rpc = await ok(mcp, 'run_command', { cmd: 'echo during-transfer' });
    assert.equal(rpc.stdout.trim(), 'during-transfer');
    assert.equal(uploadDone, false, 'run_command answered while the upload was still running');
    const up = await upload;
    assert.equal(up.isError, false, JSON.stringify(up.body));
    assert.equal(up.body.sha256, bigSha);
    assert.equal(up.body.size, BIG);
    assert.ok(progress.length >= 2, `progress notifications: ${progress.length}`);
    assert.equal(await sha256File(dest), bigSha);

    const down = await ok(mcp, 'download_file', { remote_path: dest, local_path: 'big-back.bin' });
    assert.equal(down.sha256, bigSha);
    assert.equal(await sha256File(join(root, 'big-back.bin')), bigSha);
    await rm(join(root, 'big-back.bin'));
  });

  test('a directory tree keeps relative paths, modes and symlinks', async () => {
    const tree = join(root, 'tree');
    await mkdir(join(tree, 'deep', 'er'), { recursive: true });
    await writeFile(join(tree, 'deep', 'er', 'secret'), 'classified', { mode: 0o600 });
    await writeFile(join(tree, 'tool.sh'), '#!/bin/sh\necho ok\n', { mode: 0o755 });
    await symlink('deep/er/secret', join(tree, 'inner-link'));
    await symlink('/etc/hostname', join(tree, 'outer-link'));
    const dest = join(clientDir, 'tree');
    const up = await ok(mcp, 'upload_file', { local_path: 'tree', remote_path: dest });
    assert.equal(up.method, 'ssh-stream-tar');
    assert.equal(await readFile(join(dest, 'deep', 'er', 'secret'), 'utf8'), 'classified');
    assert.equal((await stat(join(dest, 'deep', 'er', 'secret'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dest, 'tool.sh'))).mode & 0o777, 0o755);
    assert.equal(await readlink(join(dest, 'inner-link')), 'deep/er/secret');
    assert.ok((await lstat(join(dest, 'outer-link'))).isSymbolicLink(), 'kept as a link, not followed');
    const seconds = async (p: string): Promise<number> => Math.floor((await stat(p)).mtimeMs / 1000);
    assert.equal(await seconds(join(dest, 'tool.sh')), await seconds(join(tree, 'tool.sh')), 'mtime kept');
    const down = await ok(mcp, 'download_file', { remote_path: dest, local_path: 'tree-back' });
    assert.equal(down.sha256, up.sha256);
    assert.equal(await readlink(join(root, 'tree-back', 'inner-link')), 'deep/er/secret');
    assert.equal((await stat(join(root, 'tree-back', 'tool.sh'))).mode & 0o777, 0o755);
  });

  test('allowed_paths and transfer roots are enforced; overwrite:false keeps what is there', async () => {
    await writeFile(join(root, 'small.txt'), 'small');
    await fails(
      mcp,
      'upload_file',
      { local_path: 'small.txt', remote_path: join(work, 'outside.txt') },
      'PATH_DENIED',
    );
    await fails(
      mcp,
      'download_file',
      { remote_path: join(clientDir, '..', 'client-home', 'id_ed25519'), local_path: 'key' },
      'PATH_DENIED',
    );
    await fails(
      mcp,
      'upload_file',
      { local_path: '/etc/passwd', remote_path: join(clientDir, 'p') },
      'PATH_DENIED',
    );
    await fails(
      mcp,
      'upload_file',
      { local_path: '../reach.db', remote_path: join(clientDir, 'db') },
      'PATH_DENIED',
    );
    await symlink(dataDir, join(root, 'up'));
    await fails(
      mcp,
      'download_file',
      { remote_path: join(clientDir, 'in', 's1.bin'), local_path: 'up/x' },
      'PATH_DENIED',
    );
    await writeFile(join(clientDir, 'keep.txt'), 'keep');
    await fails(
      mcp,
      'upload_file',
      { local_path: 'small.txt', remote_path: join(clientDir, 'keep.txt'), overwrite: false },
      'INVALID_ARGUMENT',
    );
    assert.equal(await readFile(join(clientDir, 'keep.txt'), 'utf8'), 'keep');
  });

  test('client SIGKILL mid-upload: destination untouched; resume sends only the rest', async () => {
    const dest = join(clientDir, 'resume-up.bin');
    await writeFile(dest, 'previous contents');
    const upload = callTool(
      mcp,
      'upload_file',
      { local_path: 'big.bin', remote_path: dest, resume: true },
      { timeout: 120_000 },
    );
    await partialReaches(clientDir, 'resume-up.bin', BIG / 3);
    client.proc.kill('SIGKILL');
    await client.exited;
    const cut = await upload;
    assert.equal(cut.isError, true, 'the cut upload fails');
    assert.equal(await readFile(dest, 'utf8'), 'previous contents');

    client = startClient(home, server.sshPort);
    await online();
    const again = await ok(mcp, 'upload_file', { local_path: 'big.bin', remote_path: dest, resume: true });
    assert.ok(again.resumed_from > 0, `resumed from ${again.resumed_from}`);
    assert.ok(again.bytes_transferred < BIG, `sent ${again.bytes_transferred} of ${BIG}`);
    assert.equal(again.resumed_from + again.bytes_transferred, BIG);
    assert.equal(again.sha256, bigSha);
    assert.equal(await sha256File(dest), bigSha);
    assert.deepEqual(
      (await readdir(clientDir)).filter((n) => n.includes('reach-partial')),
      [],
      'no partial left',
    );
  });

  test('server SIGKILL mid-download: destination untouched; resume after restart', async () => {
    const source = join(clientDir, 'big.bin');
    const dest = join(extraRoot, 'resume-down.bin');
    await writeFile(dest, 'older download');
    const download = callTool(
      mcp,
      'download_file',
      { remote_path: source, local_path: dest, resume: true },
      { timeout: 120_000 },
    ).catch((err: unknown) => ({ isError: true, body: { error: String(err) } }));
    await partialReaches(extraRoot, 'resume-down.bin', BIG / 3);
    const port = server.sshPort;
    await kill(server.proc, 'SIGKILL');
    // The MCP client would keep trying to resume its stream; closing it fails the call at once.
    await mcp.close().catch(() => {});
    const cut = await download;
    assert.equal(cut.isError, true);
    assert.equal(await readFile(dest, 'utf8'), 'older download');

    server = await startServer(dataDir, extraRoot, receiver.url, port);
    mcp = await connect(server.httpPort);
    await online();
    const again = await ok(mcp, 'download_file', {
      remote_path: source,
      local_path: dest,
      resume: true,
      client_id: home.uuid,
    });
    assert.ok(again.resumed_from > 0, `resumed from ${again.resumed_from}`);
    assert.ok(again.bytes_transferred < BIG, `received ${again.bytes_transferred} of ${BIG}`);
    assert.equal(again.sha256, bigSha);
    assert.equal(await sha256File(dest), bigSha);
    assert.deepEqual(
      (await readdir(extraRoot)).filter((n) => n.includes('reach-partial')),
      [],
      'no partial left',
    );
  });
});
