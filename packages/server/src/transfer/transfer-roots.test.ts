import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadServerConfig } from '../config/server-config.ts';
import { TransferRoots } from './transfer-roots.ts';

describe('TransferRoots', () => {
  let base: string;
  let roots: TransferRoots;
  before(async () => {
    base = await mkdtemp(join(tmpdir(), 'reach-roots-'));
    await mkdir(join(base, 'extra'));
    await mkdir(join(base, 'secret'));
    roots = new TransferRoots([join(base, 'default'), join(base, 'extra')]);
    await roots.start();
    await symlink(join(base, 'secret'), join(base, 'default', 'door'));
    await symlink(join(base, 'extra'), join(base, 'default', 'to-extra'));
  });
  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('relative paths land under the default root; absolute ones under any root', async () => {
    assert.equal(await roots.check('a/b.txt', 'write'), join(base, 'default', 'a', 'b.txt'));
    assert.equal(await roots.check(join(base, 'extra', 'x'), 'read'), join(base, 'extra', 'x'));
    assert.equal(
      await roots.check('to-extra/y', 'write'),
      join(base, 'extra', 'y'),
      'a link to another root is fine',
    );
  });

  test('confirmOpen: a descriptor under a root passes; one reached through a swapped link is refused', async () => {
    const dir = join(base, 'default', 'swap');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'f'), 'inside');
    await writeFile(join(base, 'secret', 'f'), 'secret');
    const checked = await roots.check('swap/f', 'read');
    const inside = await open(checked, 'r');
    await roots.confirmOpen(inside, checked);
    await inside.close();
    // After the check, the directory is moved away and a link to a secret place put there.
    await rename(dir, `${dir}-moved`);
    await symlink(join(base, 'secret'), dir);
    const swapped = await open(checked, 'r');
    await assert.rejects(roots.confirmOpen(swapped, checked), { code: 'PATH_DENIED' });
    await assert.rejects(swapped.stat(), { code: 'EBADF' }, 'the refused handle is closed');
    await assert.rejects(roots.openDir(dir), (err: NodeJS.ErrnoException) =>
      ['ELOOP', 'ENOTDIR'].includes(err.code ?? ''),
    );
  });

  test('.., symlinks and absolute paths outside every root are PATH_DENIED', async () => {
    for (const p of ['../secret/x', 'door/x', join(base, 'secret', 'x'), '/etc/passwd', 'a/../../secret']) {
      await assert.rejects(roots.check(p, 'read'), { code: 'PATH_DENIED' }, p);
    }
  });

  test('a root itself may be read but not replaced', async () => {
    assert.equal(await roots.check(join(base, 'extra'), 'read'), join(base, 'extra'));
    await assert.rejects(roots.check(join(base, 'extra'), 'write'), { code: 'PATH_DENIED' });
  });

  test('--transfer-root is repeatable and comma-separated; REACH_TRANSFER_ROOTS too', () => {
    const flags = loadServerConfig(['--transfer-root', '/a', '--transfer-root', '/b,/c'], {});
    assert.deepEqual(flags.config.transferRoots, ['/a', '/b', '/c']);
    const env = loadServerConfig([], { REACH_TRANSFER_ROOTS: '/x, /y' });
    assert.deepEqual(env.config.transferRoots, ['/x', '/y']);
    assert.deepEqual(loadServerConfig([], {}).config.transferRoots, []);
  });
});
