import assert from 'node:assert/strict';
import {
  lstat,
  mkdir,
  mkdtemp,
  open,
  readlink,
  realpath,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openedPath } from '@reach/protocol/node';
import { isWithin, PathPolicy, type ResolveFs, resolvePath } from './path-policy.ts';

describe('path policy', () => {
  let root = '';
  let allowed = '';
  let outside = '';
  before(async () => {
    // realpath: tmpdir itself may sit behind a symlink.
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-policy-')));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(join(allowed, 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 's');
    await writeFile(join(allowed, 'sub', 'f'), 'f');
    await symlink(outside, join(allowed, 'escape'));
    await symlink(join(outside, 'not-yet'), join(allowed, 'dangling'));
    await symlink('sub', join(allowed, 'rel'));
    await symlink(join(root, 'loop-b'), join(root, 'loop-a'));
    await symlink(join(root, 'loop-a'), join(root, 'loop-b'));
    await mkdir(join(root, 'allowedx'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('resolvePath follows symlinks, applies .. after them, keeps the missing tail', async () => {
    assert.equal(await resolvePath(join(allowed, 'escape', 'secret')), join(outside, 'secret'));
    assert.equal(await resolvePath(`${allowed}/escape/../allowed/sub`), join(root, 'allowed', 'sub'));
    assert.equal(await resolvePath(`${allowed}/rel/f`), join(allowed, 'sub', 'f'));
    assert.equal(await resolvePath(`${allowed}/sub/../../outside/secret`), join(outside, 'secret'));
    assert.equal(await resolvePath(`${allowed}/new/deeper/../x`), join(allowed, 'new', 'x'));
    assert.equal(await resolvePath(join(allowed, 'dangling')), join(outside, 'not-yet'));
    assert.equal(await resolvePath('/'), '/');
  });

  test('isWithin compares whole segments', () => {
    assert.ok(isWithin('/home/a', '/home/a'));
    assert.ok(isWithin('/home/a/b', '/home/a'));
    assert.ok(isWithin('/home/a/b', '/home/a/'));
    assert.ok(!isWithin('/home/ab', '/home/a'));
    assert.ok(isWithin('/anything', '/'));
  });

  test('no list on either side allows every path', async () => {
    const policy = new PathPolicy([]);
    assert.equal(await policy.check(join(outside, 'secret')), join(outside, 'secret'));
  });

  test('symlink, .. and prefix escapes are denied with the resolved path', async () => {
    const policy = new PathPolicy([allowed]);
    assert.equal(await policy.check(join(allowed, 'sub', 'f')), join(allowed, 'sub', 'f'));
    assert.equal(await policy.check(join(allowed, 'new-file')), join(allowed, 'new-file'));
    for (const bad of [
      join(allowed, 'escape', 'secret'),
      `${allowed}/../outside/secret`,
      `${allowed}/sub/../../outside`,
      join(allowed, 'dangling'),
      `${root}/allowedx`,
      '/etc/passwd',
    ]) {
      await assert.rejects(policy.check(bad), (err: Error & { code?: string; details?: unknown }) => {
        assert.equal(err.code, 'PATH_DENIED', bad);
        assert.equal((err.details as { path: string }).path, bad);
        return true;
      });
    }
  });

  test('allowed roots are resolved too', async () => {
    await symlink(allowed, join(root, 'allowed-link'));
    const policy = new PathPolicy([join(root, 'allowed-link')]);
    assert.equal(await policy.check(join(allowed, 'sub')), join(allowed, 'sub'));
    await assert.rejects(policy.check(join(outside, 'secret')), { code: 'PATH_DENIED' });
    assert.deepEqual(await policy.effectivePaths(), [allowed]);
  });

  test("the client's own list is the ceiling: the server's list only narrows it", async () => {
    const policy = new PathPolicy([allowed]);
    // Wider than the ceiling ("/") or beside it: nothing outside the client's own list opens.
    for (const server of [['/'], [outside], [root], ['/', outside]]) {
      policy.setServerPaths(server);
      await assert.rejects(policy.check(join(outside, 'secret')), { code: 'PATH_DENIED' }, server.join(','));
    }
    policy.setServerPaths(['/']);
    assert.equal(await policy.check(join(allowed, 'sub', 'f')), join(allowed, 'sub', 'f'));
    assert.deepEqual(await policy.effectivePaths(), [allowed]);
    // Narrower: only the intersection is left.
    policy.setServerPaths([join(allowed, 'sub')]);
    assert.equal(await policy.check(join(allowed, 'sub', 'f')), join(allowed, 'sub', 'f'));
    await assert.rejects(policy.check(join(allowed, 'new-file')), { code: 'PATH_DENIED' });
    assert.deepEqual(await policy.effectivePaths(), [join(allowed, 'sub')]);
    // Disjoint: the intersection is empty, so nothing is allowed (not everything).
    policy.setServerPaths([outside]);
    await assert.rejects(policy.check(join(allowed, 'sub', 'f')), { code: 'PATH_DENIED' });
    assert.deepEqual(await policy.effectivePaths(), []);
    assert.equal(policy.unrestricted, false);
    // No server list: the client's own list alone.
    policy.setServerPaths([]);
    assert.equal(await policy.check(join(allowed, 'sub', 'f')), join(allowed, 'sub', 'f'));
    await assert.rejects(policy.check(join(outside, 'secret')), { code: 'PATH_DENIED' });
  });

  test('a client whose config names no paths keeps the server list as it was', async () => {
    const policy = new PathPolicy([]);
    policy.setServerPaths([outside]);
    assert.equal(await policy.check(join(outside, 'secret')), join(outside, 'secret'));
    await assert.rejects(policy.check(join(allowed, 'sub', 'f')), { code: 'PATH_DENIED' });
    policy.setServerPaths([]);
    assert.ok(policy.unrestricted);
    assert.equal(await policy.check(join(allowed, 'sub', 'f')), join(allowed, 'sub', 'f'));
  });

  test('a symlink swapped for a file between lstat and readlink is PATH_DENIED, not an internal error', async () => {
    const base = join(root, 'race-det');
    await mkdir(base);
    await symlink(join(allowed, 'sub'), join(base, 'link'));
    // The race, run deterministically: lstat sees the symlink, then it becomes a regular file.
    const racing: ResolveFs = {
      lstat: (p) => lstat(p),
      readlink: async (p) => {
        if (p === join(base, 'link')) {
          await rm(p);
          await writeFile(p, 'now a file');
        }
        return readlink(p);
      },
    };
    await assert.rejects(resolvePath(join(base, 'link', 'f'), racing), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'PATH_DENIED');
      assert.match(err.message, /changed while it was being checked/);
      return true;
    });
    // And the link removed outright (ENOENT from readlink).
    await rm(join(base, 'link'));
    await symlink(join(allowed, 'sub'), join(base, 'link'));
    const removing: ResolveFs = {
      lstat: (p) => lstat(p),
      readlink: async (p) => {
        if (p === join(base, 'link')) await rm(p);
        return readlink(p);
      },
    };
    await assert.rejects(resolvePath(join(base, 'link', 'f'), removing), { code: 'PATH_DENIED' });
  });

  test('checks racing a component flipped between symlink and file only ever succeed or get PATH_DENIED', async () => {
    const base = join(root, 'race-live');
    await mkdir(base);
    const asLink = join(base, 'as-link');
    const asFile = join(base, 'as-file');
    const target = join(base, 'flip');
    const policy = new PathPolicy([root]);
    let flipping = true;
    // Renames are atomic: `flip` is always either a symlink into `allowed` or a regular file.
    const flipper = (async () => {
      let i = 0;
      while (flipping) {
        i += 1;
        await symlink(join(allowed, 'sub'), asLink).catch(() => {});
        await rename(asLink, target);
        await writeFile(asFile, String(i));
        await rename(asFile, target);
      }
    })();
    const outcomes = new Map<string, number>();
    try {
      for (let i = 0; i < 3000; i++) {
        const code = await policy.check(join(target, 'f')).then(
          () => 'ok',
          (err: Error & { code?: string }) => err.code ?? err.message,
        );
        outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
      }
    } finally {
      flipping = false;
      await flipper;
    }
    for (const code of outcomes.keys()) {
      assert.ok(
        code === 'ok' || code === 'PATH_DENIED',
        `a check ended in ${code}: ${JSON.stringify([...outcomes])}`,
      );
    }
  });

  test('symlink loops are refused, relative paths are invalid', async () => {
    await assert.rejects(resolvePath(join(root, 'loop-a')), { code: 'PATH_DENIED' });
    await assert.rejects(resolvePath('relative/x'), { code: 'INVALID_ARGUMENT' });
  });

  describe('confirmOpen', () => {
    test('an opened file inside the allowed roots is confirmed and stays open', async () => {
      const policy = new PathPolicy([allowed]);
      const resolved = await policy.check(join(allowed, 'sub', 'f'));
      const fh = await open(resolved, 'r');
      try {
        assert.equal(await openedPath(fh), resolved);
        await policy.confirmOpen(fh, resolved);
        assert.equal(await fh.readFile('utf8'), 'f');
      } finally {
        await fh.close();
      }
    });

    test('a directory swapped for a symlink between check and open is refused and the handle closed', async () => {
      const base = join(root, 'swap');
      await mkdir(join(base, 'dir'), { recursive: true });
      await writeFile(join(base, 'dir', 'secret'), 'inside');
      const policy = new PathPolicy([base]);
      const resolved = await policy.check(join(base, 'dir', 'secret'));
      // The race, run deterministically: after the check, before the open.
      await rename(join(base, 'dir'), join(root, 'swap-moved'));
      await symlink(outside, join(base, 'dir'));
      const fh = await open(resolved, 'r');
      await assert.rejects(
        policy.confirmOpen(fh, resolved),
        (err: Error & { code?: string; details?: unknown }) => {
          assert.equal(err.code, 'PATH_DENIED');
          assert.match(err.message, /outside the allowed paths/);
          assert.deepEqual(err.details, { path: resolved, resolved: join(outside, 'secret') });
          return true;
        },
      );
      assert.equal(fh.fd, -1, 'the handle is closed');
    });

    test('no list on either side confirms anything', async () => {
      const fh = await open(join(outside, 'secret'), 'r');
      try {
        await new PathPolicy([]).confirmOpen(fh, join(outside, 'secret'));
        assert.notEqual(fh.fd, -1);
      } finally {
        await fh.close();
      }
    });
  });
});
