import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { keyIdHex, parsePublicKey, parseSignature } from './minisign.ts';
import { verifyReleaseManifest } from './release-signature.ts';

/** The real minisign (apt `minisign`; .ci/run installs it): every signature here is its own. */
const MINISIGN = (() => {
  try {
    execFileSync('minisign', ['-v'], { stdio: 'ignore' });
    return 'minisign';
  } catch {
    return undefined;
  }
})();

const manifest = {
  version: '1.4.0',
  node: '24.21.0',
  artifacts: [
    {
      name: 'reach-linux-x86_64',
      kind: 'executable',
      bin: 'reach',
      platform: 'linux',
      arch: 'x86_64',
      size: 5,
      sha256: 'a'.repeat(64),
      aliases: ['reach-linux'],
    },
  ],
};

test('a key id is printed as minisign prints it: upper-case hex, no leading zeros', () => {
  // The id of a key the real minisign made in a CI run: its file says 52D5C4A20068018.
  assert.equal(keyIdHex(Buffer.from([0x18, 0x80, 0x06, 0x20, 0x4a, 0x5c, 0x2d, 0x05])), '52D5C4A20068018');
  assert.equal(keyIdHex(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0xab])), 'AB000000000000FF');
  assert.equal(keyIdHex(Buffer.alloc(8)), '0');
});

describe('verifyReleaseManifest against signatures the real minisign made', {
  skip: MINISIGN === undefined,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reach-minisig-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const ms = (...args: string[]) =>
    execFileSync('minisign', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  // -W: no password, so nothing prompts.
  ms('-G', '-W', '-p', 'a.pub', '-s', 'a.key');
  ms('-G', '-W', '-p', 'b.pub', '-s', 'b.key');
  const bytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(join(dir, 'release.json'), bytes);
  ms('-S', '-s', 'a.key', '-m', 'release.json', '-t', 'reach 1.4.0');
  const sig = await readFile(join(dir, 'release.json.minisig'), 'utf8');
  const pubA = await readFile(join(dir, 'a.pub'), 'utf8');
  const pubB = await readFile(join(dir, 'b.pub'), 'utf8');

  test('a good signature verifies and yields the parsed manifest, key id and trusted comment', () => {
    const v = verifyReleaseManifest(bytes, sig, pubA);
    assert.equal(v.manifest.version, '1.4.0');
    assert.equal(v.manifest.artifacts[0]?.sha256, 'a'.repeat(64));
    assert.equal(v.trustedComment, 'reach 1.4.0');
    // minisign's own comment line names the key id the same way.
    assert.equal(`untrusted comment: minisign public key ${v.keyId}`, pubA.split('\n')[0]);
    // The key line alone (minisign -P's form) is a key too.
    assert.equal(verifyReleaseManifest(bytes, sig, pubA.split('\n')[1] ?? '').keyId, v.keyId);
  });

  test('one changed byte of release.json is bad_signature', () => {
    const tampered = Buffer.from(bytes);
    tampered[bytes.indexOf('1.4.0') + 2] = '5'.charCodeAt(0);
    assert.throws(() => verifyReleaseManifest(tampered, sig, pubA), {
      code: 'SIGNATURE_INVALID',
      details: { reason: 'bad_signature' },
    });
  });

  test('another key is wrong_key, naming both key ids', () => {
    const b = parsePublicKey(pubB);
    const a = parsePublicKey(pubA);
    assert.throws(
      () => verifyReleaseManifest(bytes, sig, pubB),
      (err: Error & { details?: unknown }) => {
        assert.deepEqual(err.details, { reason: 'wrong_key' });
        assert.match(
          err.message,
          new RegExp(`signed by key ${a.keyId}, not by the trusted release key ${b.keyId}`),
        );
        return true;
      },
    );
  });

  test('another key carrying the trusted key id is still bad_signature', () => {
    const a = parsePublicKey(pubA);
    const b = parsePublicKey(pubB);
    // B's key under A's id: the id check passes, Ed25519 does not.
    const forged = Buffer.concat([Buffer.from('Ed'), a.keyIdBytes, b.raw]).toString('base64');
    assert.throws(() => verifyReleaseManifest(bytes, sig, forged), { details: { reason: 'bad_signature' } });
  });

  test('a changed trusted comment is bad_trusted_comment', () => {
    const edited = sig.replace('trusted comment: reach 1.4.0', 'trusted comment: reach 9.9.9');
    assert.notEqual(edited, sig);
    assert.throws(() => verifyReleaseManifest(bytes, edited, pubA), {
      code: 'SIGNATURE_INVALID',
      details: { reason: 'bad_trusted_comment' },
    });
  });

  test('a legacy (not prehashed) signature is unsupported_algorithm', async () => {
    ms('-S', '-l', '-s', 'a.key', '-m', 'release.json', '-x', 'legacy.minisig');
    const legacy = await readFile(join(dir, 'legacy.minisig'), 'utf8');
    assert.equal(parseSignature(legacy).algorithm, 'Ed');
    assert.throws(() => verifyReleaseManifest(bytes, legacy, pubA), {
      details: { reason: 'unsupported_algorithm' },
    });
  });

  test('garbage signatures and keys are malformed_*, never a crash', () => {
    const lines = sig.split('\n');
    for (const bad of [
      '',
      'hello',
      sig.slice(0, 40),
      lines.slice(0, 3).join('\n'),
      `${sig}extra line\n`,
      'x'.repeat(20000),
    ]) {
      assert.throws(() => verifyReleaseManifest(bytes, bad, pubA), {
        details: { reason: 'malformed_signature' },
      });
    }
    for (const bad of ['', 'RWQ', pubA.replace(/\n(.)/, '\nX$1'), `${pubA}${pubA}`]) {
      assert.throws(() => verifyReleaseManifest(bytes, sig, bad), { details: { reason: 'malformed_key' } });
    }
  });

  test('a signed file that is not a manifest is INVALID_ARGUMENT, after the signature held', async () => {
    await writeFile(join(dir, 'other.json'), '{"version":"x"}');
    ms('-S', '-s', 'a.key', '-m', 'other.json');
    const other = await readFile(join(dir, 'other.json'));
    const otherSig = await readFile(join(dir, 'other.json.minisig'), 'utf8');
    assert.throws(() => verifyReleaseManifest(other, otherSig, pubA), { code: 'INVALID_ARGUMENT' });
    // The same bytes under the manifest's signature: refused for the signature first.
    assert.throws(() => verifyReleaseManifest(other, sig, pubA), { code: 'SIGNATURE_INVALID' });
  });
});
