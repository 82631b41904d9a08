/** TransferService ⇄ the client's transfer handler over an in-memory stream pair (no SSH). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha, startTransferHarness, type TransferHarness } from '../../test/helpers/transfer-harness.ts';
import type { FileTransferredEvent, TransferService } from './transfer-service.ts';

describe('TransferService over a stream pair', () => {
  let h: TransferHarness;
  let base: string;
  let root: string;
  let remote: string;
  let service: TransferService;
  let events: FileTransferredEvent[];

  before(async () => {
    h = await startTransferHarness();
    ({ base, root, remote, service, events } = h);
  });
  after(() => h.cleanup());

  for (const size of [0, 1, 1024 * 1024 + 7]) {
    test(`a ${size}-byte file goes up and comes back with equal sha256`, async () => {
      const body = randomBytes(size);
      await writeFile(join(root, `f${size}`), body, { mode: 0o640 });
      const up = await service.upload({
        clientUuid: 'c1',
        localPath: `f${size}`,
        remotePath: join(remote, 'sub', `f${size}`),
        overwrite: true,
        resume: false,
      });
      assert.equal(up.size, size);
      assert.equal(up.sha256, sha(body));
      assert.equal(up.method, 'ssh-stream');
      const there = join(remote, 'sub', `f${size}`);
      assert.deepEqual(await readFile(there), body);
      assert.equal((await stat(there)).mode & 0o777, 0o640);
      const down = await service.download({
        clientUuid: 'c1',
        remotePath: there,
        localPath: join(root, 'back', `f${size}`),
        resume: false,
      });
      assert.equal(down.sha256, sha(body));
      assert.deepEqual(await readFile(join(root, 'back', `f${size}`)), body);
      assert.equal(events.at(-1)?.direction, 'download');
      assert.deepEqual(
        (await readdir(join(remote, 'sub'))).filter((n) => n.includes('reach-partial')),
        [],
        'no temp files left',
      );
    });
  }

  test('mode is set when asked; overwrite:false refuses an existing destination', async () => {
    await writeFile(join(root, 'm'), 'hello');
    const dest = join(remote, 'm');
    await service.upload({
      clientUuid: 'c',
      localPath: 'm',
      remotePath: dest,
      mode: 0o600,
      overwrite: true,
      resume: false,
    });
    assert.equal((await stat(dest)).mode & 0o777, 0o600);
    await writeFile(join(root, 'm'), 'changed');
    await assert.rejects(
      service.upload({ clientUuid: 'c', localPath: 'm', remotePath: dest, overwrite: false, resume: false }),
      { code: 'INVALID_ARGUMENT' },
    );
    assert.equal(await readFile(dest, 'utf8'), 'hello');
  });

  test('what a killed transfer left beside the destination is swept by the next one', async () => {
    const dir = join(remote, 'swept');
    await mkdir(dir, { recursive: true });
    const dead = join(dir, `.gone.bin.reach-partial-${'c'.repeat(16)}`);
    const live = join(dir, `.live.bin.reach-partial-${'d'.repeat(16)}`);
    await writeFile(dead, 'left by a killed transfer');
    await writeFile(live, 'still being written');
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(dead, twoHoursAgo, twoHoursAgo);
    await writeFile(join(root, 'sweep-src'), 'new');
    await service.upload({
      clientUuid: 'c',
      localPath: 'sweep-src',
      remotePath: join(dir, 'new.bin'),
      overwrite: true,
      resume: false,
    });
    assert.deepEqual((await readdir(dir)).sort(), ['.live.bin.reach-partial-dddddddddddddddd', 'new.bin']);
  });

  test('paths outside allowed_paths and outside the transfer roots are refused', async () => {
    await writeFile(join(root, 'p'), 'x');
    await assert.rejects(
      service.upload({
        clientUuid: 'c',
        localPath: 'p',
        remotePath: join(base, 'elsewhere'),
        overwrite: true,
        resume: false,
      }),
      { code: 'PATH_DENIED' },
    );
    await assert.rejects(
      service.upload({
        clientUuid: 'c',
        localPath: '../remote/x',
        remotePath: join(remote, 'x'),
        overwrite: true,
        resume: false,
      }),
      { code: 'PATH_DENIED' },
    );
    // An allowed root itself cannot be replaced: its temp would live outside it.
    await assert.rejects(
      service.upload({ clientUuid: 'c', localPath: 'p', remotePath: remote, overwrite: true, resume: false }),
      { code: 'PATH_DENIED' },
    );
    await symlink(base, join(root, 'escape'));
    await assert.rejects(
      service.download({
        clientUuid: 'c',
        remotePath: join(remote, 'm'),
        localPath: 'escape/stolen',
        resume: false,
      }),
      { code: 'PATH_DENIED' },
    );
    await assert.rejects(
      service.download({
        clientUuid: 'c',
        remotePath: join(remote, 'missing'),
        localPath: 'never',
        resume: false,
      }),
      { code: 'FILE_NOT_FOUND' },
    );
  });

  test('a download whose destination directory is swapped for a link after the check writes nothing outside', async () => {
    const body = randomBytes(64 * 1024);
    await writeFile(join(remote, 'swap-src'), body);
    const dir = join(root, 'swap-dir');
    const outside = join(base, 'outside-root');
    await mkdir(dir, { recursive: true });
    await mkdir(outside, { recursive: true });
    h.onOpen = async () => {
      h.onOpen = undefined;
      await rename(dir, `${dir}-moved`);
      await symlink(outside, dir);
    };
    await assert.rejects(
      service.download({
        clientUuid: 'c1',
        remotePath: join(remote, 'swap-src'),
        localPath: 'swap-dir/f',
        resume: false,
      }),
    );
    assert.deepEqual(await readdir(outside), [], 'nothing written through the link');
    assert.deepEqual(await readdir(`${dir}-moved`), []);
  });

  test('a directory tree keeps relative paths, modes and symlinks, both ways', async () => {
    const tree = join(root, 'tree');
    await mkdir(join(tree, 'a', 'b'), { recursive: true });
    await writeFile(join(tree, 'a', 'b', 'data.bin'), randomBytes(300_000), { mode: 0o600 });
    await writeFile(join(tree, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    await symlink('a/b/data.bin', join(tree, 'link'));
    await symlink('/etc/passwd', join(tree, 'outside'));
    const dest = join(remote, 'tree-copy');
    const up = await service.upload({
      clientUuid: 'c',
      localPath: 'tree',
      remotePath: dest,
      overwrite: true,
      resume: false,
    });
    assert.equal(up.method, 'ssh-stream-tar');
    assert.equal(up.entries, 6);
    assert.deepEqual(
      await readFile(join(dest, 'a', 'b', 'data.bin')),
      await readFile(join(tree, 'a', 'b', 'data.bin')),
    );
    assert.equal((await stat(join(dest, 'run.sh'))).mode & 0o777, 0o755);
    assert.equal((await stat(join(dest, 'a', 'b', 'data.bin'))).mode & 0o777, 0o600);
    assert.equal(await readlink(join(dest, 'link')), 'a/b/data.bin');
    assert.equal(await readlink(join(dest, 'outside')), '/etc/passwd', 'stored as a link, not followed');
    assert.ok((await lstat(join(dest, 'outside'))).isSymbolicLink());

    // Again over an existing destination: replaced as a whole.
    await writeFile(join(dest, 'stale'), 'old');
    await service.upload({
      clientUuid: 'c',
      localPath: 'tree',
      remotePath: dest,
      overwrite: true,
      resume: false,
    });
    await assert.rejects(stat(join(dest, 'stale')));

    const down = await service.download({
      clientUuid: 'c',
      remotePath: dest,
      localPath: 'tree-back',
      resume: false,
    });
    assert.equal(down.sha256.length, 64);
    assert.equal(await readlink(join(root, 'tree-back', 'link')), 'a/b/data.bin');
    assert.equal((await stat(join(root, 'tree-back', 'run.sh'))).mode & 0o777, 0o755);
  });
});
