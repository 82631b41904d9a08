/**
 * upload_file / download_file end to end: a real reach-server process (MCP over HTTP) and a real
 * reach client process over loopback SSH. Sizes from 0 bytes to 1 MiB with their webhooks and audit
 * entries, a directory tree, and path refusals. The 256 MiB and resume tests are in
 * transfer-e2e-large.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MIB, transferE2eFixture } from './helpers/transfer-e2e-fixture.ts';
import { fails, ok } from './mcp/mcp-client.ts';

describe('file transfer over the link, real processes', () => {
  const fx = transferE2eFixture();

  test('0 B, 1 B and 1 MiB files go up and come back with equal sha256', async () => {
    const { mcp, root, clientDir, extraRoot, receiver } = fx;
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

  test('a directory tree keeps relative paths, modes and symlinks', async () => {
    const { mcp, root, clientDir } = fx;
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
    const { mcp, work, dataDir, root, clientDir } = fx;
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
});
