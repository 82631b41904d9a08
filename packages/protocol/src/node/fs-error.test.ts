import assert from 'node:assert/strict';
import { constants as fsConstants } from 'node:fs';
import { mkdtemp, open, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ReachError } from '../errors.ts';
import { fsError } from './fs-error.ts';

describe('fsError', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-fs-error-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The error a real open gives, mapped. */
  const mapped = async (path: string, flags: number): Promise<ReachError> => {
    try {
      await (await open(path, flags)).close();
    } catch (err) {
      return fsError(err, path);
    }
    assert.fail(`open ${path} succeeded`);
  };

  test('ELOOP from O_NOFOLLOW on a symlink: PATH_DENIED, saying a symbolic link was refused', async () => {
    const link = join(dir, 'link');
    await symlink(join(dir, 'elsewhere'), link);
    const e = await mapped(link, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW);
    assert.equal(e.code, 'PATH_DENIED');
    assert.match(e.message, /^symbolic link refused: .*link \(/);
    assert.doesNotMatch(e.message, /^too many/);
  });

  test('ELOOP from a symlink loop: the same code and message', async () => {
    const a = join(dir, 'loop-a');
    const b = join(dir, 'loop-b');
    await symlink(b, a);
    await symlink(a, b);
    const e = await mapped(a, fsConstants.O_RDONLY);
    assert.equal(e.code, 'PATH_DENIED');
    assert.match(e.message, /symbolic link refused: .*too many links/);
  });

  test('missing → FILE_NOT_FOUND; a ReachError passes through; anything else is INTERNAL_ERROR', async () => {
    assert.equal((await mapped(join(dir, 'nope'), fsConstants.O_RDONLY)).code, 'FILE_NOT_FOUND');
    const own = new ReachError('PATH_DENIED', 'no');
    assert.equal(fsError(own, '/x'), own);
    assert.equal(fsError(new Error('boom'), '/x').code, 'INTERNAL_ERROR');
  });
});
