import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ReachError } from '../errors.ts';
import { openSource } from './open-source.ts';

describe('openSource', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-open-source-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a file and a directory are described by their open descriptor', async () => {
    const file = join(dir, 'f.bin');
    await writeFile(file, Buffer.alloc(1234), { mode: 0o640 });
    const sub = join(dir, 'sub');
    await mkdir(sub, { mode: 0o750 });
    const f = await openSource(file);
    const d = await openSource(sub);
    try {
      assert.equal(f.kind, 'file');
      assert.equal(f.kind === 'file' && f.size, 1234);
      assert.equal(f.mode, 0o640);
      assert.equal(d.kind, 'dir');
      assert.equal(d.mode, 0o750);
      assert.ok(f.fh.fd > 0 && d.fh.fd > 0);
    } finally {
      await f.fh.close();
      await d.fh.close();
    }
  });

  test('confirm is called once with the opened descriptor; a refusal leaves nothing open', async () => {
    const file = join(dir, 'refused.bin');
    await writeFile(file, 'x');
    const seen: Array<{ path: string; fd: number }> = [];
    let handle: { fd: number } | undefined;
    await assert.rejects(
      openSource(file, async (fh, path) => {
        seen.push({ path, fd: fh.fd });
        handle = fh;
        throw new ReachError('PATH_DENIED', `outside: ${path}`);
      }),
      { code: 'PATH_DENIED' },
    );
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.path, file);
    assert.ok((seen[0]?.fd ?? -1) > 0);
    assert.equal(handle?.fd, -1, 'the descriptor was closed');
  });

  test('a symlink at the end is refused (ELOOP), a FIFO is INVALID_ARGUMENT and never opened', async () => {
    const target = join(dir, 'target.txt');
    await writeFile(target, 'secret');
    const link = join(dir, 'link');
    await symlink(target, link);
    await assert.rejects(openSource(link), { code: 'ELOOP' });
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(openSource(fifo), {
      code: 'INVALID_ARGUMENT',
      message: /not a regular file or directory/,
    });
    await assert.rejects(openSource(join(dir, 'missing')), { code: 'ENOENT' });
  });
});
