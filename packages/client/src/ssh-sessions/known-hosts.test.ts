import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ReachError } from '@reach/protocol';
import type { PresentedHostKey } from '../tunnel/onward-connect.ts';
import { KnownHosts } from './known-hosts.ts';

function key(seed: string, keyType = 'ssh-ed25519'): PresentedHostKey {
  const blob = Buffer.concat([
    Buffer.from([0, 0, 0, keyType.length]),
    Buffer.from(keyType),
    Buffer.from(seed),
  ]);
  const fp = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  return { keyType, keyBase64: blob.toString('base64'), fingerprint: `SHA256:${fp}` };
}

describe('KnownHosts', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-known-hosts-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('records on first use, accepts the same key, refuses a changed one unless asked', async () => {
    const path = join(dir, 'kh1');
    const kh = new KnownHosts(path);
    const k1 = key('one');
    const k2 = key('two');
    assert.equal(await kh.check('nas', 2222, k1, false), 'added');
    assert.equal(await kh.check('nas', 2222, k1, false), 'known');
    assert.equal(await kh.check('nas', 22, k2, false), 'added', 'another port is another host');
    await assert.rejects(kh.check('nas', 2222, k2, false), (err: unknown) => {
      assert.ok(err instanceof ReachError);
      assert.equal(err.code, 'SSH_HOST_KEY_MISMATCH');
      assert.equal(err.details?.known_fingerprint, k1.fingerprint);
      assert.equal(err.details?.presented_fingerprint, k2.fingerprint);
      return true;
    });
    assert.equal(await kh.check('nas', 2222, k2, true), 'replaced');
    assert.equal(await kh.check('nas', 2222, k2, false), 'known');
    const text = await readFile(path, 'utf8');
    assert.equal(text, `nas ssh-ed25519 ${k2.keyBase64}\n[nas]:2222 ssh-ed25519 ${k2.keyBase64}\n`);
  });

  test('keeps foreign lines; replacing removes the host from a shared line only', async () => {
    const path = join(dir, 'kh2');
    const k1 = key('one');
    await writeFile(path, `# comment\n|1|hashed= ssh-ed25519 AAAA\nalpha,beta ssh-ed25519 ${k1.keyBase64}\n`);
    const kh = new KnownHosts(path);
    assert.equal(await kh.check('beta', 22, k1, false), 'known');
    const k3 = key('three');
    assert.equal(await kh.check('beta', 22, k3, true), 'replaced');
    assert.equal(
      await readFile(path, 'utf8'),
      `# comment\n|1|hashed= ssh-ed25519 AAAA\nalpha ssh-ed25519 ${k1.keyBase64}\nbeta ssh-ed25519 ${k3.keyBase64}\n`,
    );
  });
});
