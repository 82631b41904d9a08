import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { ed25519KeyPair } from '../../../../test-support/ed25519-key-pair.ts';
import { AuthorizedKeys, parseAuthorizedKeyLine, parseAuthorizedKeys } from './authorized-keys.ts';

const silent = pino({ level: 'silent' });

describe('authorized_keys', () => {
  const a = ed25519KeyPair('a@host');
  const b = ed25519KeyPair('b@host');

  test('parses options, comments and blank lines like sshd', () => {
    const blob = a.public.split(' ')[1];
    const text = [
      '# a comment',
      '',
      `no-pty,command="echo hi there" ${a.public}`,
      `ssh-ed25519 ${b.public.split(' ')[1]}`,
    ].join('\n');
    const keys = parseAuthorizedKeys(text);
    assert.equal(keys.length, 2);
    assert.equal(keys[0]?.blob.toString('base64'), blob);
    assert.equal(keys[0]?.comment, 'a@host');
    assert.match(keys[0]?.fingerprint ?? '', /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test('an unreadable line is reported and skipped; a single bad line throws INVALID_ARGUMENT', () => {
    const bad: number[] = [];
    const keys = parseAuthorizedKeys(`garbage here\n${a.public}\nssh-ed25519 !!!\n`, (n) => bad.push(n));
    assert.equal(keys.length, 1);
    assert.deepEqual(bad, [1, 3]);
    assert.throws(() => parseAuthorizedKeyLine('ssh-ed25519'), { code: 'INVALID_ARGUMENT' });
    assert.equal(parseAuthorizedKeyLine('   # x'), undefined);
  });

  test('the file is re-read when it changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reach-ak-'));
    try {
      const path = join(dir, 'authorized_keys');
      const store = new AuthorizedKeys(path, silent);
      const blobA = Buffer.from(a.public.split(' ')[1]!, 'base64');
      const blobB = Buffer.from(b.public.split(' ')[1]!, 'base64');
      assert.equal(await store.find(blobA), undefined, 'missing file = no keys');
      await writeFile(path, `${a.public}\n`);
      assert.ok(await store.find(blobA));
      assert.equal(await store.find(blobB), undefined);
      await writeFile(path, `${b.public}\n`);
      await utimes(path, new Date(), new Date(Date.now() + 5000));
      assert.ok(await store.find(blobB));
      assert.equal(await store.find(blobA), undefined, 'a removed key is no longer accepted');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
