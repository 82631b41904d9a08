import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fakeRelease } from '../../test/helpers/release-fixture.ts';
import { releaseCommand } from './release-command.ts';
import { installRelease } from './release-install.ts';
import { releaseKeyCommand } from './release-key-command.ts';

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
  for (const argv of [
    [],
    ['install'],
    ['remove', 'x'],
    ['install', 'a', 'b'],
    ['install', 'a', '--bogus'],
    ['install', 'a', '--channel', 'beta'],
    ['publish', 'a', '--channel', 'gamma'],
    ['list', 'a'],
    ['sign', 'a'],
  ]) {
    await assert.rejects(releaseCommand(argv, io().io), { code: 'INVALID_ARGUMENT' }, argv.join(' '));
  }
});

describe('release-key generate, release sign, publish, list', async () => {
  const data = join(root, 'pub-data');
  const keys = join(root, 'keys');
  const run = async (argv: string[]) => {
    const t = io();
    const code = await releaseCommand(argv, t.io);
    return { code, out: t.out.join(''), err: t.err.join('') };
  };

  test('release-key generate writes a 0600 secret and a public key, and refuses to overwrite them', async () => {
    const t = io();
    assert.equal(await releaseKeyCommand(['generate', '--out', keys], t.io), 0);
    assert.match(t.out.join(''), /^release key [0-9A-F]{1,16}\n/);
    assert.equal((await stat(join(keys, 'release.key'))).mode & 0o777, 0o600);
    const pub = await readFile(join(keys, 'release.pub'), 'utf8');
    assert.match(pub, /^untrusted comment: minisign public key [0-9A-F]{1,16}\nRW[A-Za-z0-9+/]{54}\n$/);
    await assert.rejects(releaseKeyCommand(['generate', '--out', keys], io().io), /exists; pass --force/);
    assert.equal(await readFile(join(keys, 'release.pub'), 'utf8'), pub);
    await assert.rejects(releaseKeyCommand(['generate'], io().io), { code: 'INVALID_ARGUMENT' });
    // --force replaces the pair whole (a spare directory: the tests below use the first pair).
    const spare = join(root, 'spare-keys');
    await releaseKeyCommand(['generate', '--out', spare], io().io);
    const before = await readFile(join(spare, 'release.pub'), 'utf8');
    assert.equal(await releaseKeyCommand(['generate', '--out', spare, '--force'], io().io), 0);
    assert.notEqual(await readFile(join(spare, 'release.pub'), 'utf8'), before);
    assert.equal((await stat(join(spare, 'release.key'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(spare)).sort(), ['release.key', 'release.pub']);
  });

  test('publish refuses an unsigned release, and any release while no public key is configured', async () => {
    const rel = await fakeRelease('1.0.0', join(root, 'pub-build0'));
    const none = await run(['publish', rel.dir, '--data-dir', data]);
    assert.equal(none.code, 1);
    assert.match(none.err, /^reach-server: no release public key to check the signature against: put it at /);
    const r = await run([
      'publish',
      rel.dir,
      '--data-dir',
      data,
      '--release-public-key',
      join(keys, 'release.pub'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^reach-server: .* is not signed \(no release\.json\.minisig\)/);
    await assert.rejects(readdir(join(data, 'releases')), { code: 'ENOENT' });
  });

  test('a signed release is published on a channel; the same one again only moves a channel', async () => {
    await mkdir(data, { recursive: true });
    await copyFile(join(keys, 'release.pub'), join(data, 'release.pub'));
    const rel = await fakeRelease('1.1.0', join(root, 'pub-build1'));
    const signed = await run(['sign', rel.dir, '--sign-key', join(keys, 'release.key')]);
    assert.match(signed.out, /^signed release 1\.1\.0 with key [0-9A-F]{1,16}: .*release\.json\.minisig\n$/);
    const first = await run(['publish', rel.dir, '--channel', 'beta', '--data-dir', data]);
    assert.equal(first.code, 0, first.err);
    assert.match(first.out, /^published release 1\.1\.0 \(3 artifacts, signed by [0-9A-F]{1,16}\)/m);
    assert.match(first.out, /^channel beta: 1\.1\.0\n/m);
    const again = await run(['publish', rel.dir, '--data-dir', data]);
    assert.match(again.out, /^already published release 1\.1\.0/);
    assert.match(again.out, /^channel stable: 1\.1\.0\n/m);
    const channels = JSON.parse(await readFile(join(data, 'releases', 'channels.json'), 'utf8'));
    assert.deepEqual(channels, { stable: '1.1.0', beta: '1.1.0' });
    // What is served is what was signed, byte for byte.
    assert.deepEqual(
      await readFile(join(data, 'releases', '1.1.0', 'release.json')),
      await readFile(join(rel.dir, 'release.json')),
    );
    const next = await fakeRelease('1.2.0', join(root, 'pub-build2'));
    await run(['sign', next.dir, '--sign-key', join(keys, 'release.key')]);
    const moved = await run(['publish', next.dir, '--data-dir', data]);
    assert.match(moved.out, /^channel stable: 1\.2\.0 \(was 1\.1\.0\)\n/m);
  });

  test('a release signed by another key or changed after signing is refused, nothing installed', async () => {
    const otherKeys = join(root, 'other-keys');
    await releaseKeyCommand(['generate', '--out', otherKeys], io().io);
    const rel = await fakeRelease('1.3.0', join(root, 'pub-build3'));
    await run(['sign', rel.dir, '--sign-key', join(otherKeys, 'release.key')]);
    const wrong = await run(['publish', rel.dir, '--data-dir', data]);
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.err,
      /^reach-server: the release is signed by key [0-9A-F]{1,16}, not by the trusted release key/,
    );
    await run(['sign', rel.dir, '--sign-key', join(keys, 'release.key')]);
    await writeFile(join(rel.dir, 'release.json'), JSON.stringify({ ...rel.manifest, node: '24.0.0' }));
    const changed = await run(['publish', rel.dir, '--data-dir', data]);
    assert.match(changed.err, /^reach-server: the release signature does not match its file/);
    assert.deepEqual((await readdir(join(data, 'releases'))).sort(), ['1.1.0', '1.2.0', 'channels.json']);
  });

  test('list shows each version with its channels and whether its signature holds', async () => {
    await installRelease((await fakeRelease('0.9.0', join(root, 'pub-build4'))).dir, join(data, 'releases'));
    const list = await run(['list', '--data-dir', data]);
    assert.equal(list.code, 0);
    const lines = list.out.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^VERSION\s+CHANNELS\s+SIGNATURE$/);
    assert.match(lines[1] ?? '', /^1\.2\.0\s+stable\s+signed by [0-9A-F]{1,16} \(verified\)$/);
    assert.match(lines[2] ?? '', /^1\.1\.0\s+beta\s+signed by [0-9A-F]{1,16} \(verified\)$/);
    assert.match(lines[3] ?? '', /^0\.9\.0\s+-\s+unsigned$/);
    // A signature that no longer holds (bytes changed in place) is shown as such.
    await writeFile(join(data, 'releases', '1.1.0', 'release.json.minisig'), 'junk');
    const json = JSON.parse((await run(['list', '--json', '--data-dir', data])).out);
    assert.equal(json[1].signature, 'invalid');
    assert.match(json[1].problem, /not start with "untrusted comment:"/);
  });
});

test('release pin / unpin hold a client or a tag at a version in pins.json', async () => {
  const data = join(root, 'pins-data');
  const uuid = '0b6f9a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b';
  const t = io();
  assert.equal(
    await releaseCommand(['pin', '--client', uuid, '--version', '1.4.0', '--data-dir', data], t.io),
    0,
  );
  assert.equal(
    await releaseCommand(['pin', '--tag', 'lab', '--version', '1.3.0', '--data-dir', data], t.io),
    0,
  );
  assert.equal(
    await releaseCommand(['pin', '--tag', 'lab', '--version', '1.3.1', '--data-dir', data], t.io),
    0,
  );
  assert.equal(await releaseCommand(['unpin', '--client', uuid, '--data-dir', data], t.io), 0);
  assert.deepEqual(t.out, [
    `client ${uuid} pinned to 1.4.0\n`,
    'tag lab pinned to 1.3.0\n',
    'tag lab pinned to 1.3.1 (was 1.3.0)\n',
    `client ${uuid} unpinned (was 1.4.0)\n`,
  ]);
  assert.deepEqual(JSON.parse(await readFile(join(data, 'releases', 'pins.json'), 'utf8')), {
    clients: {},
    tags: { lab: '1.3.1' },
  });
  for (const bad of [
    ['pin', '--version', '1.0.0'],
    ['pin', '--client', uuid, '--tag', 'x', '--version', '1.0.0'],
    ['pin', '--tag', 'lab', '--version', 'latest'],
    ['pin', '--client', 'not-a-uuid', '--version', '1.0.0'],
  ]) {
    await assert.rejects(releaseCommand([...bad, '--data-dir', data], io().io), { code: 'INVALID_ARGUMENT' });
  }
});
