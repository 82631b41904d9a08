import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { PathPolicy } from '../agent/path-policy.ts';
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
  let root = '';
  let allowed = '';
  let outside = '';
  let dir = '';
  let policy: PathPolicy;
  let read: ReadAllowedFile;
  let insideKey = '';
  let outsideKey = '';
  let n = 0;
  const hop = (key_file: string) => ({ host: 'h', port: 22, username: 'u', key_file });

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-hop-key-')));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(allowed);
    policy = new PathPolicy([allowed]);
    // As run-agent.ts wires it.
    read = (p, maxBytes) => readAllowedFile(policy, p, maxBytes);
    insideKey = pemKey();
    outsideKey = pemKey();
  });
  beforeEach(async () => {
    n += 1;
    dir = join(allowed, `case-${n}`, 'keys');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'id'), insideKey, { mode: 0o600 });
    await rm(outside, { recursive: true, force: true });
    await mkdir(outside);
    await writeFile(join(outside, 'id'), outsideKey, { mode: 0o600 });
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a key inside the policy is read; a password hop reads nothing', async () => {
    const h = await resolveHop(hop(join(dir, 'id')), read);
    assert.equal(h.privateKey?.toString(), insideKey);
    const p = await resolveHop({ host: 'h', port: 22, username: 'u', password: 'pw' }, async () => {
      throw new Error('no read expected');
    });
    assert.equal(p.password, 'pw');
  });

  test('a key outside the policy is PATH_DENIED', async () => {
    await assert.rejects(resolveHop(hop(join(outside, 'id')), read), { code: 'PATH_DENIED' });
  });

  /** A reader that checks, then lets `swap` run, then reads: the race, deterministically. */
  const swappingReader =
    (swap: () => Promise<void>): ReadAllowedFile =>
    async (p, maxBytes) => {
      const resolved = await policy.check(p);
      await swap();
      return readAllowedChecked(policy, p, resolved, maxBytes);
    };

  test('the key directory swapped for a symlink after the check: PATH_DENIED, the outside key unread', async () => {
    const swap = async () => {
      await rename(dir, `${dir}-moved`);
      await symlink(outside, dir);
    };
    await assert.rejects(
      resolveHop(hop(join(dir, 'id')), swappingReader(swap)),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'PATH_DENIED');
        assert.doesNotMatch(JSON.stringify(err), /PRIVATE KEY/);
        return true;
      },
    );
  });

  test('the key file swapped for a symlink after the check: PATH_DENIED', async () => {
    const p = join(dir, 'id');
    const swap = async () => {
      await rm(p);
      await symlink(join(outside, 'id'), p);
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
    await expect(join(dir, 'nope'));
    await expect(dir);
    await writeFile(join(dir, 'not-a-key'), 'hello');
    await expect(join(dir, 'not-a-key'));
    await writeFile(join(dir, 'big'), Buffer.alloc(MAX_KEY_FILE_BYTES + 1, 0x41));
    await expect(join(dir, 'big'));
    assert.deepEqual(reasons.slice(0, 2), ['ENOENT', 'INVALID_ARGUMENT']);
    assert.equal(reasons[3], 'FILE_TOO_LARGE');
  });

  test('with no reader (no policy): read by name, still regular files only and bounded', async () => {
    assert.equal((await resolveHop(hop(join(outside, 'id')))).privateKey?.toString(), outsideKey);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(resolveHop(hop(fifo)), { code: 'SSH_KEY_NOT_FOUND' });
    await writeFile(join(dir, 'big'), Buffer.alloc(MAX_KEY_FILE_BYTES + 1, 0x41));
    await assert.rejects(resolveHop(hop(join(dir, 'big'))), { code: 'SSH_KEY_NOT_FOUND' });
  });
});
