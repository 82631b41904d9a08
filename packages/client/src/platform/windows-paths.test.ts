import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PathPolicy } from '../agent/path-policy.ts';
import { windowsPlatform } from './platform.ts';
import { isWindowsAbsolute, isWithinWindows, type RealPath, resolveWindowsPath } from './windows-paths.ts';

/**
 * A Windows volume as realpath sees it (this runs on Linux): existing paths, matched without case,
 * map to their final path; `C:\data\out` is a junction to `D:\elsewhere`, `C:\PROGRA~1` the short
 * name of `C:\Program Files`, `Z:\` a drive mapped to `\\srv\share`.
 */
function volume(entries: Record<string, string>): RealPath {
  const table = new Map(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), v]));
  return async (p) => {
    const hit = table.get(p.toLowerCase().replace(/\\$/, '')) ?? table.get(p.toLowerCase());
    if (hit !== undefined) return hit;
    throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
  };
}

const real = volume({
  'C:\\': 'C:\\',
  'C:\\data': 'C:\\Data',
  'C:\\data\\in': 'C:\\Data\\in',
  'C:\\data\\out': 'D:\\elsewhere',
  'C:\\PROGRA~1': 'C:\\Program Files',
  'C:\\Program Files': 'C:\\Program Files',
  'D:\\': 'D:\\',
  'D:\\elsewhere': 'D:\\elsewhere',
  'Z:\\': '\\\\srv\\share\\',
  'Z:\\team': '\\\\srv\\share\\team',
  '\\\\srv\\share\\': '\\\\srv\\share\\',
  '\\\\srv\\share\\team': '\\\\srv\\share\\team',
});

describe('windows paths', () => {
  test('drive and UNC paths are absolute; drive-relative, root-relative and device paths are not', () => {
    assert.equal(isWindowsAbsolute('C:\\Users\\me'), true);
    assert.equal(isWindowsAbsolute('c:/Users/me'), true);
    assert.equal(isWindowsAbsolute('\\\\srv\\share\\x'), true);
    for (const p of ['C:x', '\\Users', 'Users\\me', '\\\\?\\C:\\x', '\\\\.\\PhysicalDrive0', '\\\\srv']) {
      assert.equal(isWindowsAbsolute(p), false, p);
    }
  });

  test('resolve: .. is applied to the text, then realpath (junctions, short names, case)', async () => {
    assert.equal(await resolveWindowsPath('c:\\DATA\\in\\..\\in\\f.txt', real), 'C:\\Data\\in\\f.txt');
    assert.equal(await resolveWindowsPath('C:/data/out/secret', real), 'D:\\elsewhere\\secret');
    assert.equal(await resolveWindowsPath('C:\\PROGRA~1\\app', real), 'C:\\Program Files\\app');
    assert.equal(await resolveWindowsPath('Z:\\team\\a', real), '\\\\srv\\share\\team\\a');
    assert.equal(await resolveWindowsPath('C:\\..\\..\\Windows', real), 'C:\\Windows');
    await assert.rejects(resolveWindowsPath('\\\\?\\C:\\data', real), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(resolveWindowsPath('C:data', real), { code: 'INVALID_ARGUMENT' });
  });

  test('within: whole components, any case', () => {
    assert.equal(isWithinWindows('C:\\Data\\x', 'c:\\data'), true);
    assert.equal(isWithinWindows('c:\\data', 'C:\\Data\\'), true);
    assert.equal(isWithinWindows('C:\\Data2\\x', 'C:\\Data'), false);
    assert.equal(isWithinWindows('C:\\Data:stream', 'C:\\Data'), false);
    assert.equal(isWithinWindows('D:\\Data', 'C:\\Data'), false);
    assert.equal(isWithinWindows('C:\\anything', 'C:\\'), true);
    assert.equal(isWithinWindows('\\\\srv\\share\\team\\a', '\\\\SRV\\Share'), true);
  });

  test('the path policy with Windows rules: no .., junction or case escape', async () => {
    const policy = new PathPolicy(
      ['C:\\data', '\\\\srv\\share\\team'],
      windowsPlatform({ realpath: real }).paths,
    );
    assert.equal(await policy.check('c:\\DATA\\in\\new.txt'), 'C:\\Data\\in\\new.txt');
    assert.equal(await policy.check('Z:\\Team\\a'), '\\\\srv\\share\\team\\a');
    for (const p of ['C:\\data\\..\\Windows\\x', 'C:\\data\\out\\secret', 'C:\\Data2', 'D:\\elsewhere']) {
      await assert.rejects(policy.check(p), { code: 'PATH_DENIED' }, p);
    }
    policy.setServerPaths(['C:\\DATA\\IN']);
    assert.deepEqual(await policy.effectivePaths(), ['C:\\Data\\in']);
    await assert.rejects(policy.check('C:\\data\\other'), { code: 'PATH_DENIED' });
  });

  test('no descriptor paths on Windows: confirmOpen checks the name again, never /proc/self/fd', async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'reach-winfd-')));
    try {
      await mkdir(join(dir, 'in'));
      await writeFile(join(dir, 'in', 'f'), 'x');
      await writeFile(join(dir, 'outside'), 'y');
      // A handle to a file outside the root, confirmed under a name inside it: by its descriptor
      // (Linux) that is refused; with no descriptor paths (Windows) only the name is judged.
      const posix = new PathPolicy([join(dir, 'in')]);
      const fh1 = await open(join(dir, 'outside'), 'r');
      await assert.rejects(posix.confirmOpen(fh1, join(dir, 'in', 'f')), { code: 'PATH_DENIED' });
      // The Windows rules' flag, over this machine's paths.
      const win = new PathPolicy([join(dir, 'in')], {
        resolve: async (p) => p,
        isWithin: (p, r) => p.startsWith(r),
        descriptorPaths: windowsPlatform().paths.descriptorPaths,
      });
      const fh2 = await open(join(dir, 'outside'), 'r');
      await win.confirmOpen(fh2, join(dir, 'in', 'f'));
      await fh2.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
