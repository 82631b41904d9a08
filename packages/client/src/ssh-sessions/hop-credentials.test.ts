import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { useSwapFixture } from '../../test/helpers/swap-fixture.ts';
import { readAllowedChecked, readAllowedFile } from '../agent/read-allowed-file.ts';
import { MAX_KEY_FILE_BYTES, type ReadAllowedFile, resolveHop } from './hop-credentials.ts';

/** A PEM EC private key ssh2 accepts; generated, so no key is checked in. */
const pemKey = (): string =>
  generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'sec1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  }).privateKey;

describe('resolveHop key files', () => {
  let read: ReadAllowedFile;
  let insideKey = '';
  let outsideKey = '';
  const fx = useSwapFixture('reach-hop-key-', {
    dirName: 'keys',
    fill: async ({ dir, outside }) => {
      await writeFile(join(dir, 'id'), insideKey, { mode: 0o600 });
      await writeFile(join(outside, 'id'), outsideKey, { mode: 0o600 });
    },
  });
  const hop = (key_file: string) => ({ host: 'h', port: 22, username: 'u', key_file });

  before(() => {
    // As run-agent.ts wires it.
    read = (p, maxBytes) => readAllowedFile(fx.policy, p, maxBytes);
    insideKey = pemKey();
    outsideKey = pemKey();
  });

  test('a key inside the policy is read; a password hop reads nothing', async () => {
    const h = await resolveHop(hop(join(fx.dir, 'id')), read);
    assert.equal(h.privateKey?.toString(), insideKey);
    const p = await resolveHop({ host: 'h', port: 22, username: 'u', password: 'pw' }, async () => {
      throw new Error('no read expected');
    });
    assert.equal(p.password, 'pw');
  });

  test('a key outside the policy is PATH_DENIED', async () => {
    await assert.rejects(resolveHop(hop(join(fx.outside, 'id')), read), { code: 'PATH_DENIED' });
  });

  /** A reader that checks, then lets `swap` run, then reads: the race, deterministically. */
  const swappingReader =
    (swap: () => Promise<void>): ReadAllowedFile =>
    async (p, maxBytes) => {
      const resolved = await fx.policy.check(p);
      await swap();
      return readAllowedChecked(fx.policy, p, resolved, maxBytes);
    };

  test('the key directory swapped for a symlink after the check: PATH_DENIED, the outside key unread', async () => {
    await assert.rejects(
      resolveHop(hop(join(fx.dir, 'id')), swappingReader(fx.swapDir)),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PATH_DENIED');
        assert.doesNotMatch(JSON.stringify(err), /PRIVATE KEY/);
        return true;
      },
    );
  });

  test('the key file swapped for a symlink after the check: PATH_DENIED', async () => {
    const p = join(fx.dir, 'id');
    const swap = async () => {
      await rm(p);
      await symlink(join(fx.outside, 'id'), p);
    };
    await assert.rejects(resolveHop(hop(p), swappingReader(swap)), {
      code: 'PATH_DENIED',
      message: /symbolic link appeared/,
    });
  });

  test('missing, a directory, not a key, or too large: SSH_KEY_NOT_FOUND with the reason', async () => {
    const reasons: unknown[] = [];
    const expect = async (path: string, reader: ReadAllowedFile = read) => {
      await assert.rejects(
        resolveHop(hop(path), reader),
        (err: Error & { code?: string; details?: unknown }) => {
          assert.equal(err.code, 'SSH_KEY_NOT_FOUND');
          reasons.push((err.details as { reason?: unknown }).reason);
          return true;
        },
      );
    };
    await expect(join(fx.dir, 'nope'));
    await expect(fx.dir);
    await writeFile(join(fx.dir, 'not-a-key'), 'hello');
    await expect(join(fx.dir, 'not-a-key'));
    await writeFile(join(fx.dir, 'big'), Buffer.alloc(MAX_KEY_FILE_BYTES + 1, 0x41));
    await expect(join(fx.dir, 'big'));
    assert.deepEqual(reasons.slice(0, 2), ['ENOENT', 'INVALID_ARGUMENT']);
    assert.equal(reasons[3], 'FILE_TOO_LARGE');
  });

  test('with no reader (no policy): read by name, still regular files only and bounded', async () => {
    assert.equal((await resolveHop(hop(join(fx.outside, 'id')))).privateKey?.toString(), outsideKey);
    const fifo = join(fx.dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(resolveHop(hop(fifo)), { code: 'SSH_KEY_NOT_FOUND' });
    await writeFile(join(fx.dir, 'big'), Buffer.alloc(MAX_KEY_FILE_BYTES + 1, 0x41));
    await assert.rejects(resolveHop(hop(join(fx.dir, 'big'))), { code: 'SSH_KEY_NOT_FOUND' });
  });
});
