import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { generateKeyPair, publicKeyFingerprint } from './keys.ts';

describe('keys', () => {
  test('generateKeyPair returns a parsable OpenSSH ed25519 pair with the comment', () => {
    const pair = generateKeyPair('reach@test-host');
    assert.match(pair.privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    assert.match(pair.publicKey, /^ssh-ed25519 [A-Za-z0-9+/]+={0,2} reach@test-host$/);
    const priv = ssh2.utils.parseKey(pair.privateKey);
    assert.ok(!(priv instanceof Error));
    assert.equal(priv.type, 'ssh-ed25519');
    const pub = ssh2.utils.parseKey(pair.publicKey);
    assert.ok(!(pub instanceof Error));
    assert.deepEqual(priv.getPublicSSH(), pub.getPublicSSH());
  });

  test('publicKeyFingerprint matches ssh-keygen -lf when available', async (t) => {
    const pair = generateKeyPair('c');
    const fp = publicKeyFingerprint(pair.publicKey);
    assert.match(fp, /^SHA256:[A-Za-z0-9+/]{43}$/);
    const dir = await mkdtemp(join(tmpdir(), 'reach-keys-'));
    try {
      await writeFile(join(dir, 'k.pub'), `${pair.publicKey}\n`);
      const r = spawnSync('ssh-keygen', ['-lf', join(dir, 'k.pub')], { encoding: 'utf8' });
      if (r.error) {
        t.skip('ssh-keygen not installed');
        return;
      }
      assert.equal(r.stdout.split(' ')[1], fp);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('publicKeyFingerprint refuses garbage', () => {
    assert.throws(() => publicKeyFingerprint('not a key'), { code: 'INVALID_ARGUMENT' });
  });
});

test('every generated key parses (ssh2 1.17 alone malforms about one ed25519 key in 256)', () => {
  // 2,000 keys catch the regression with probability 1 - (255/256)^2000 ≈ 99.96%.
  for (let i = 0; i < 2000; i++) {
    const { privateKey, publicKey } = generateKeyPair(`k${i}`);
    assert.doesNotThrow(() => publicKeyFingerprint(publicKey));
    assert.ok(!(ssh2.utils.parseKey(privateKey) instanceof Error), 'private key parses');
  }
});
