import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DAEMON_FILE,
  type DaemonInfo,
  findRunningDaemon,
  readDaemonFile,
  writeDaemonFile,
} from './daemon-file.ts';

const info = (over: Partial<DaemonInfo> = {}): DaemonInfo => ({
  pid: process.pid,
  mcpUrl: 'http://127.0.0.1:1/mcp',
  sshPort: 2222,
  apiKey: 'k'.repeat(32),
  version: '0.1.0',
  ...over,
});

test('written 0600 and atomically; removed on close only while it is still ours', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reach-daemon-'));
  try {
    const remove = await writeDaemonFile(dir, info());
    assert.equal((await stat(join(dir, DAEMON_FILE))).mode & 0o777, 0o600);
    assert.deepEqual(await readDaemonFile(dir), info());
    // A newer daemon took over the file: closing the old one leaves it.
    await writeDaemonFile(dir, info({ pid: 1 }));
    await remove();
    assert.equal((await readDaemonFile(dir))?.pid, 1);
    const removeNewer = await writeDaemonFile(dir, info());
    await removeNewer();
    assert.equal(await readDaemonFile(dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a file others can read, or a symlink, is refused: it holds the API key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reach-daemon-'));
  try {
    const path = join(dir, DAEMON_FILE);
    await writeFile(path, JSON.stringify(info()), { mode: 0o644 });
    await chmod(path, 0o644);
    await assert.rejects(readDaemonFile(dir), { code: 'PERMISSION_DENIED', message: /mode 0600/ });
    await rm(path);
    const elsewhere = join(dir, 'elsewhere.json');
    await writeFile(elsewhere, JSON.stringify(info()), { mode: 0o600 });
    await symlink(elsewhere, path);
    await assert.rejects(readDaemonFile(dir), { code: 'PERMISSION_DENIED', message: /symlink/ });
    await rm(path);
    // Torn or foreign content is no daemon.
    await writeFile(path, '{"pid":', { mode: 0o600 });
    assert.equal(await readDaemonFile(dir), undefined);
    assert.equal(await readFile(path, 'utf8'), '{"pid":');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('findRunningDaemon: only a live daemon on the same SSH port that answers /health', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reach-daemon-'));
  const health = createServer((req, res) => {
    res.statusCode = req.url === '/health' ? 200 : 404;
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  const port = (health.address() as { port: number }).port;
  try {
    assert.equal(await findRunningDaemon(dir, 2222), undefined, 'no file');
    await writeDaemonFile(dir, info({ mcpUrl: `http://127.0.0.1:${port}/mcp` }));
    assert.equal((await findRunningDaemon(dir, 2222))?.pid, process.pid);
    assert.equal(await findRunningDaemon(dir, 2223), undefined, 'another SSH port');
    // A pid far above pid_max: the daemon that wrote the record is gone.
    await writeDaemonFile(dir, info({ pid: 2 ** 30, mcpUrl: `http://127.0.0.1:${port}/mcp` }));
    assert.equal(await findRunningDaemon(dir, 2222), undefined, 'stale record');
    health.close();
    await writeDaemonFile(dir, info({ mcpUrl: `http://127.0.0.1:${port}/mcp` }));
    assert.equal(await findRunningDaemon(dir, 2222), undefined, 'nothing answers');
  } finally {
    health.close();
    await rm(dir, { recursive: true, force: true });
  }
});
