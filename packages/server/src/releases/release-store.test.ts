import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { after, describe, test } from 'node:test';
import { fakeRelease } from '../../test/helpers/release-fixture.ts';
import { ReleaseStore } from './release-store.ts';
import { compareVersions, latestVersion } from './release-version.ts';

describe('ReleaseStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'reach-releases-'));
  after(() => rm(root, { recursive: true, force: true }));
  const v1 = await fakeRelease('0.9.0', root);
  const v2 = await fakeRelease('0.10.0', root);
  await fakeRelease('0.10.0-rc.1', root);
  const store = new ReleaseStore(root);

  test('latest is the highest version (0.10.0 above 0.9.0 and its own rc)', async () => {
    assert.equal(await store.resolveVersion('latest'), '0.10.0');
    const f = await store.open('latest', 'reach-linux-x86_64');
    assert.equal(f.version, '0.10.0');
    assert.equal(f.size, v2.bodies['reach-linux-x86_64']?.length);
    assert.equal(f.etag, `"${v2.manifest.artifacts[0]?.sha256}"`);
    assert.equal(await text(f.stream(0, f.size - 1)), v2.bodies['reach-linux-x86_64']?.toString());
  });

  test('an alias opens its artifact; an exact version opens that version', async () => {
    const f = await store.open('0.9.0', 'reach-windows.exe');
    assert.equal(f.name, 'reach-windows-x86_64.exe');
    assert.equal(await text(f.stream(0, 1)), 'MZ');
    assert.equal(f.size, v1.bodies['reach-windows-x86_64.exe']?.length);
  });

  test('release.json and SHA256SUMS are served; nothing else in the directory is', async () => {
    const m = await store.open('latest', 'release.json');
    // The bytes on disk (what a signature covers), not a re-encoding of them.
    assert.equal(await text(m.stream(0, m.size - 1)), await readFile(join(v2.dir, 'release.json'), 'utf8'));
    assert.equal(JSON.parse(await text(m.stream(0, m.size - 1))).version, '0.10.0');
    await assert.rejects(store.open('latest', 'release.json.minisig'), /release 0\.10\.0 is not signed/);
    await writeFile(join(v2.dir, 'release.json.minisig'), 'untrusted comment: x\n');
    const sig = await store.open('latest', 'release.json.minisig');
    assert.equal(await text(sig.stream(0, sig.size - 1)), 'untrusted comment: x\n');
    const s = await store.open('latest', 'SHA256SUMS');
    assert.match(await text(s.stream(0, s.size - 1)), /^[0-9a-f]{64} {2}reach-linux-x86_64\n/);
    await writeFile(join(v2.dir, 'notes.txt'), 'private');
    for (const name of ['notes.txt', '..', '.', '../0.9.0', '.hidden', 'a/b', '']) {
      await assert.rejects(store.open('latest', name), { code: 'FILE_NOT_FOUND' }, name);
    }
    for (const version of ['../x', '1', 'v1.0.0', '2.0.0']) {
      await assert.rejects(store.open(version, 'reach-linux'), { code: 'FILE_NOT_FOUND' }, version);
    }
  });

  test('an artifact that is not the size release.json says is refused, a symlink is not followed', async () => {
    await writeFile(join(v1.dir, 'reach-linux-x86_64.tar.gz'), 'truncated');
    await assert.rejects(store.open('0.9.0', 'reach-linux-x86_64.tar.gz'), { code: 'INTEGRITY_ERROR' });
    await rm(join(v1.dir, 'reach-linux-x86_64'));
    await symlink('/etc/passwd', join(v1.dir, 'reach-linux-x86_64'));
    await assert.rejects(store.open('0.9.0', 'reach-linux'), { code: 'FILE_NOT_FOUND' });
  });

  test('no releases directory: every name is FILE_NOT_FOUND', async () => {
    const empty = new ReleaseStore(join(root, 'missing'));
    await assert.rejects(empty.open('latest', 'reach-linux'), { code: 'FILE_NOT_FOUND' });
  });
});

test('compareVersions orders SemVer numerically, a pre-release below its release', () => {
  assert.equal(compareVersions('0.10.0', '0.9.9'), 1);
  assert.equal(compareVersions('1.0.0-rc.1', '1.0.0'), -1);
  assert.equal(compareVersions('1.0.0', '1.0.0'), 0);
  assert.equal(latestVersion(['0.2.0', 'junk', '.install-0.9.0-ab', '0.10.0', '0.3.0']), '0.10.0');
});
