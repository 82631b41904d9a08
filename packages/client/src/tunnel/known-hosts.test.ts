import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ed25519KeyPair } from '../../../../test-support/ed25519-key-pair.ts';
import { blobFingerprint, blobKeyType, knownHostName, pinKey, readPinnedKeys } from './known-hosts.ts';

test('names, pinning and lookup in OpenSSH known_hosts format', async () => {
  assert.equal(knownHostName('Example.COM', 22), 'example.com');
  assert.equal(knownHostName('127.0.0.1', 2222), '[127.0.0.1]:2222');
  const dir = await mkdtemp(join(tmpdir(), 'reach-kh-'));
  try {
    const path = join(dir, 'known_hosts');
    assert.deepEqual(await readPinnedKeys(path, '[h]:1'), []);
    const pair = ed25519KeyPair();
    const blob = Buffer.from(pair.public.split(' ')[1]!, 'base64');
    assert.equal(blobKeyType(blob), 'ssh-ed25519');
    await writeFile(path, '# comment\n|1|hashed ssh-ed25519 AAAA\n');
    await pinKey(path, '[h]:1', blob);
    assert.match(
      await readFile(path, 'utf8'),
      new RegExp(`^\\[h\\]:1 ssh-ed25519 ${blob.toString('base64').replace(/[+/]/g, '\\$&')}$`, 'm'),
    );
    const pinned = await readPinnedKeys(path, '[h]:1');
    assert.equal(pinned.length, 1);
    assert.equal(pinned[0]?.fingerprint, blobFingerprint(blob));
    assert.deepEqual(await readPinnedKeys(path, '[h]:2'), []);
    const fresh = join(dir, 'new_known_hosts');
    await pinKey(fresh, 'x', blob);
    assert.equal((await stat(fresh)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
