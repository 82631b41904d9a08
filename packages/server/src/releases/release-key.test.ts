import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parsePublicKey, verifyMinisign } from '@reach/protocol/node';
import { defaultTrustedComment, generateReleaseKey, parseSecretKey, signMinisign } from './release-key.ts';

const HAS_MINISIGN = spawnSync('minisign', ['-v']).status === 0;

describe('release keys and signatures interoperate with the real minisign', {
  skip: !HAS_MINISIGN,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reach-relkey-'));
  after(() => rm(dir, { recursive: true, force: true }));
  /** minisign's exit status and output (it exits 1 and says why on a refusal). */
  const ms = (...args: string[]) => {
    const r = spawnSync('minisign', args, { cwd: dir, encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const file = Buffer.from('{"version":"2.0.0"}\n');
  await writeFile(join(dir, 'release.json'), file);

  test('a signature we make verifies with minisign -V, trusted comment included', async () => {
    const key = generateReleaseKey();
    await writeFile(join(dir, 'ours.pub'), key.publicText);
    const comment = defaultTrustedComment('release.json', Date.UTC(2026, 11, 3));
    await writeFile(join(dir, 'release.json.minisig'), signMinisign(file, key, comment));
    const r = ms('-V', '-p', 'ours.pub', '-m', 'release.json');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /Signature and comment signature verified/);
    assert.match(r.out, /Trusted comment: timestamp:1796256000\tfile:release\.json\thashed/);
    assert.match(key.publicText, new RegExp(`^untrusted comment: minisign public key ${key.keyId}\n`));
  });

  test('minisign refuses what we refuse: changed file, other key, changed trusted comment', async () => {
    const key = generateReleaseKey();
    const other = generateReleaseKey();
    await writeFile(join(dir, 'k.pub'), key.publicText);
    await writeFile(join(dir, 'other.pub'), other.publicText);
    const sig = signMinisign(file, key, 'reach 2.0.0');
    await writeFile(join(dir, 'release.json.minisig'), sig);
    await writeFile(join(dir, 'changed.json'), '{"version":"2.0.1"}\n');
    await writeFile(join(dir, 'changed.json.minisig'), sig);
    const edited = sig.replace('reach 2.0.0', 'reach 2.0.1');
    await writeFile(join(dir, 'edited.minisig'), edited);
    const pub = parsePublicKey(key.publicText);
    const cases = [
      {
        args: ['-m', 'changed.json'],
        pub: 'k.pub',
        ours: () => verifyMinisign(Buffer.from('{"version":"2.0.1"}\n'), sig, pub),
        reason: 'bad_signature',
      },
      {
        args: ['-m', 'release.json'],
        pub: 'other.pub',
        ours: () => verifyMinisign(file, sig, parsePublicKey(other.publicText)),
        reason: 'wrong_key',
      },
      {
        args: ['-m', 'release.json', '-x', 'edited.minisig'],
        pub: 'k.pub',
        ours: () => verifyMinisign(file, edited, pub),
        reason: 'bad_trusted_comment',
      },
    ];
    for (const c of cases) {
      assert.equal(ms('-V', '-p', c.pub, ...c.args).status, 1, c.reason);
      assert.throws(c.ours, { code: 'SIGNATURE_INVALID', details: { reason: c.reason } });
    }
    assert.equal(verifyMinisign(file, sig, pub), 'reach 2.0.0');
  });

  test('minisign signs with a secret key we generated; we sign with one minisign generated', async () => {
    const ours = generateReleaseKey();
    await writeFile(join(dir, 'ours.key'), ours.secretText, { mode: 0o600 });
    let r = ms(
      '-S',
      '-s',
      'ours.key',
      '-m',
      'release.json',
      '-x',
      'by-minisign.minisig',
      '-t',
      'from minisign',
    );
    assert.equal(r.status, 0, r.out);
    const bySig = await readFile(join(dir, 'by-minisign.minisig'), 'utf8');
    assert.equal(verifyMinisign(file, bySig, parsePublicKey(ours.publicText)), 'from minisign');

    r = ms('-G', '-W', '-p', 'theirs.pub', '-s', 'theirs.key');
    assert.equal(r.status, 0, r.out);
    const theirs = parseSecretKey(await readFile(join(dir, 'theirs.key'), 'utf8'));
    const theirsPub = await readFile(join(dir, 'theirs.pub'), 'utf8');
    assert.equal(parsePublicKey(theirsPub).keyId, theirs.keyId);
    await writeFile(join(dir, 'with-theirs.minisig'), signMinisign(file, theirs, 'from reach'));
    r = ms('-V', '-p', 'theirs.pub', '-m', 'release.json', '-x', 'with-theirs.minisig');
    assert.equal(r.status, 0, r.out);
  });

  test('secret keys: a password-protected or damaged one is refused with the reason', async () => {
    const key = generateReleaseKey();
    const [comment, line] = key.secretText.split('\n');
    const bin = Buffer.from(line ?? '', 'base64');
    const encrypted = Buffer.from(bin);
    encrypted.write('Sc', 2, 'latin1');
    assert.throws(
      () => parseSecretKey(`${comment}\n${encrypted.toString('base64')}\n`),
      /password-protected/,
    );
    const damaged = Buffer.from(bin);
    damaged[100] = (damaged[100] ?? 0) ^ 1;
    assert.throws(() => parseSecretKey(`${comment}\n${damaged.toString('base64')}\n`), /is damaged/);
    assert.throws(() => parseSecretKey(key.publicText), { code: 'INVALID_ARGUMENT' });
    assert.equal(parseSecretKey(key.secretText).keyId, key.keyId);
    assert.throws(() => signMinisign(file, key, 'two\nlines'), { code: 'INVALID_ARGUMENT' });
  });
});

test('a key is 158 bytes in the minisign layout whatever minisign is installed', () => {
  const key = generateReleaseKey();
  const bin = Buffer.from(key.secretText.split('\n')[1] ?? '', 'base64');
  assert.equal(bin.length, 158);
  assert.equal(bin.subarray(0, 6).toString('latin1'), 'Ed\0\0B2');
  assert.ok(bin.subarray(6, 54).equals(Buffer.alloc(48)), 'salt and limits zero, as minisign -W writes');
  assert.ok(bin.subarray(54, 62).equals(key.keyIdBytes));
  assert.ok(bin.subarray(94, 126).equals(key.publicRaw));
  assert.ok(bin.subarray(126).equals(Buffer.alloc(32)), 'checksum zero, as minisign -W writes');
});
