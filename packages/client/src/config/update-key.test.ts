import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { main } from '../main.ts';
import { initConfig, loadConfig } from './load-config.ts';
import { resolveUpdateKey } from './update-key.ts';

// Two public keys `minisign -G -W` made (public halves only: nothing here signs).
const KEY_A = 'RWRk8ioIhIXZuZpmzg6fOcONWdjI+l7Us2pfwifTo/2UoAJwXSSV3elW';
const ID_A = 'B9D98584082AF264';
const KEY_B = 'RWSZfJZCgy7zyZYATJij6HWtvbIJ8Bk/HaYK1dz4LK9ifZBANXVio6ii';

const root = await mkdtemp(join(tmpdir(), 'reach-update-key-'));
after(() => rm(root, { recursive: true, force: true }));

async function reach(argv: string[], home: string) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    env: { REACH_HOME: home },
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

test('the key line itself or a release.pub file; anything else is refused before a write', async () => {
  assert.deepEqual(await resolveUpdateKey(KEY_A), { line: KEY_A, keyId: ID_A });
  const file = join(root, 'release.pub');
  await writeFile(file, `untrusted comment: minisign public key ${ID_A}\n${KEY_A}\n`);
  assert.deepEqual(await resolveUpdateKey(file), { line: KEY_A, keyId: ID_A });
  for (const bad of ['', 'RWRk8ioI', join(root, 'missing.pub'), `ssh-ed25519 ${KEY_A}`]) {
    await assert.rejects(resolveUpdateKey(bad), { code: 'INVALID_ARGUMENT' }, bad);
  }
});

test('reach --init --update-public-key pins the key in config.yaml; loadConfig reads it back', async () => {
  const home = join(root, 'a');
  const r = await reach(['--init', '--update-public-key', KEY_A], home);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Updates must be signed by release key ${ID_A}\n`));
  assert.equal(parse(await readFile(join(home, 'config.yaml'), 'utf8')).update_public_key, KEY_A);
  assert.equal((await loadConfig({ env: { REACH_HOME: home } })).config.update_public_key, KEY_A);
  const again = await reach(['--init', '--update-public-key', KEY_A], home);
  assert.match(again.stdout, /\(already set\)/);
});

test('an existing config gains a key it lacks, but one that trusts another key keeps it', async () => {
  const home = join(root, 'b');
  await initConfig({ env: { REACH_HOME: home } });
  assert.equal((await loadConfig({ env: { REACH_HOME: home } })).config.update_public_key, '');
  const added = await reach(['--init', '--update-public-key', KEY_A], home);
  assert.equal(added.code, 0, added.stderr);
  const before = await readFile(join(home, 'config.yaml'), 'utf8');
  const other = await reach(['--init', '--update-public-key', KEY_B], home);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /already trusts another update key .*edit update_public_key there to change it/);
  assert.equal(await readFile(join(home, 'config.yaml'), 'utf8'), before);
});

test('a config.yaml whose update_public_key is not a key line is an invalid configuration', async () => {
  const home = join(root, 'c');
  const { path, uuid } = await initConfig({ env: { REACH_HOME: home } });
  await writeFile(path, `uuid: ${uuid}\nupdate_public_key: not-a-key\n`);
  await assert.rejects(loadConfig({ env: { REACH_HOME: home } }), /update_public_key/);
});
