import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fakeRelease } from '../../test/helpers/release-fixture.ts';
import { installRelease } from './release-install.ts';
import { ReleaseStore } from './release-store.ts';

const root = await mkdtemp(join(tmpdir(), 'reach-install-'));
after(() => rm(root, { recursive: true, force: true }));

test('install copies a verified release into <releases>/<version> and it is served', async () => {
  const rel = await fakeRelease('1.2.3', join(root, 'build-a'));
  const releases = join(root, 'releases-a');
  const r = await installRelease(rel.dir, releases);
  assert.deepEqual(r, {
    version: '1.2.3',
    path: join(releases, '1.2.3'),
    artifacts: 3,
    replaced: false,
    signedBy: undefined,
  });
  assert.deepEqual(await readdir(releases), ['1.2.3']);
  const body = rel.bodies['reach-linux-x86_64'];
  assert.deepEqual(await readFile(join(releases, '1.2.3', 'reach-linux-x86_64')), body);
  const f = await new ReleaseStore(releases).open('latest', 'reach-linux');
  assert.equal(f.size, body?.length);
  await f.close();
});

test('a tampered artifact fails the install and leaves the served releases untouched', async () => {
  const releases = join(root, 'releases-b');
  const good = await fakeRelease('1.0.0', join(root, 'build-b1'));
  await installRelease(good.dir, releases);
  const bad = await fakeRelease('1.1.0', join(root, 'build-b2'));
  // Same size, other bytes: only the sha256 tells.
  const body = bad.bodies['reach-windows-x86_64.exe'] ?? Buffer.alloc(0);
  await writeFile(join(bad.dir, 'reach-windows-x86_64.exe'), Buffer.from(body).fill(0x41, 10, 20));
  await assert.rejects(installRelease(bad.dir, releases), { code: 'INTEGRITY_ERROR' });
  assert.deepEqual(await readdir(releases), ['1.0.0']);
  assert.equal(await new ReleaseStore(releases).resolveVersion('latest'), '1.0.0');
});

test('an installed version is kept unless force; force replaces it whole', async () => {
  const releases = join(root, 'releases-c');
  const first = await fakeRelease('2.0.0', join(root, 'build-c1'));
  await installRelease(first.dir, releases);
  await assert.rejects(installRelease(first.dir, releases), { code: 'INVALID_ARGUMENT' });
  const r = await installRelease(first.dir, releases, { force: true });
  assert.equal(r.replaced, true);
  assert.deepEqual(await readdir(releases), ['2.0.0']);
});

test('a directory without a valid release.json is refused before anything is written', async () => {
  const releases = join(root, 'releases-d');
  await assert.rejects(installRelease(join(root, 'nowhere'), releases), { code: 'FILE_NOT_FOUND' });
  const rel = await fakeRelease('3.0.0', join(root, 'build-d'));
  await writeFile(join(rel.dir, 'release.json'), JSON.stringify({ ...rel.manifest, version: '../evil' }));
  await assert.rejects(installRelease(rel.dir, releases), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(readdir(releases), { code: 'ENOENT' });
});
