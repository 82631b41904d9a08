/**
 * upload_file / download_file end to end with a 256 MiB file: a real reach-server process (MCP over
 * HTTP) and a real reach client process over loopback SSH. Both directions with RPC during the
 * transfer, then transfers cut by SIGKILL (client, then server) and resumed. In order: the last
 * test downloads the file the first one uploaded.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { startClient } from './e2e-harness.ts';
import { connect, kill, MIB, startServer, transferE2eFixture } from './helpers/transfer-e2e-fixture.ts';
import { callTool, ok } from './mcp/mcp-client.ts';

const BIG = 256 * MIB;

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

describe('file transfer over the link, 256 MiB and killed transfers, real processes', () => {
  const fx = transferE2eFixture();
  let bigSha = '';

  before(async () => {
    await writeRandomFile(join(fx.root, 'big.bin'), BIG);
    bigSha = await sha256File(join(fx.root, 'big.bin'));
  });

  test('256 MiB both ways: sha256 equal, progress reported, run_command answered meanwhile', async () => {
    const { mcp, root, clientDir } = fx;
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

  test('client SIGKILL mid-upload: destination untouched; resume sends only the rest', async () => {
    const { mcp, home, clientDir } = fx;
    const dest = join(clientDir, 'resume-up.bin');
    await writeFile(dest, 'previous contents');
    const upload = callTool(
      mcp,
      'upload_file',
      { local_path: 'big.bin', remote_path: dest, resume: true },
      { timeout: 120_000 },
    );
    await partialReaches(clientDir, 'resume-up.bin', BIG / 3);
    fx.client.proc.kill('SIGKILL');
    await fx.client.exited;
    const cut = await upload;
    assert.equal(cut.isError, true, 'the cut upload fails');
    assert.equal(await readFile(dest, 'utf8'), 'previous contents');

    fx.client = startClient(home, fx.server.sshPort);
    await fx.online();
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
    const { dataDir, extraRoot, clientDir, home, receiver } = fx;
    const source = join(clientDir, 'big.bin');
    const dest = join(extraRoot, 'resume-down.bin');
    await writeFile(dest, 'older download');
    const download = callTool(
      fx.mcp,
      'download_file',
      { remote_path: source, local_path: dest, resume: true },
      { timeout: 120_000 },
    ).catch((err: unknown) => ({ isError: true, body: { error: String(err) } }));
    await partialReaches(extraRoot, 'resume-down.bin', BIG / 3);
    const port = fx.server.sshPort;
    await kill(fx.server.proc, 'SIGKILL');
    // The MCP client would keep trying to resume its stream; closing it fails the call at once.
    await fx.mcp.close().catch(() => {});
    const cut = await download;
    assert.equal(cut.isError, true);
    assert.equal(await readFile(dest, 'utf8'), 'older download');

    fx.server = await startServer(dataDir, extraRoot, receiver.url, port);
    fx.mcp = await connect(fx.server.httpPort);
    await fx.online();
    const again = await ok(fx.mcp, 'download_file', {
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
