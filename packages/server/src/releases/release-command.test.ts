import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fakeRelease } from '../../test/helpers/release-fixture.ts';
import { releaseCommand } from './release-command.ts';

const root = await mkdtemp(join(tmpdir(), 'reach-release-cmd-'));
after(() => rm(root, { recursive: true, force: true }));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      env: {},
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    },
  };
}

test('release install DIR --data-dir D installs into D/releases', async () => {
  const rel = await fakeRelease('0.3.0', join(root, 'build'));
  const data = join(root, 'data');
  const t = io();
  assert.equal(await releaseCommand(['install', rel.dir, '--data-dir', data], t.io), 0);
  assert.match(t.out.join(''), /installed release 0\.3\.0 \(3 artifacts\)/);
  assert.deepEqual(await readdir(join(data, 'releases')), ['0.3.0']);
});

test('--releases-dir wins; a damaged release is one line on stderr and exit 1', async () => {
  const rel = await fakeRelease('0.4.0', join(root, 'build2'));
  await writeFile(join(rel.dir, 'reach-linux-x86_64'), 'short');
  const t = io();
  const code = await releaseCommand(['install', rel.dir, '--releases-dir', join(root, 'served')], t.io);
  assert.equal(code, 1);
  assert.equal(t.err.length, 1);
  assert.match(t.err[0] ?? '', /^reach-server: reach-linux-x86_64: 5 bytes, release\.json says \d+\n$/);
});

test('bad usage is INVALID_ARGUMENT (bin.ts prints it with exit 2)', async () => {
  for (const argv of [[], ['install'], ['remove', 'x'], ['install', 'a', 'b'], ['install', 'a', '--bogus']]) {
    await assert.rejects(releaseCommand(argv, io().io), { code: 'INVALID_ARGUMENT' }, argv.join(' '));
  }
});
