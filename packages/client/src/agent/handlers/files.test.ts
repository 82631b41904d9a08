import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ListFilesResult, ReadFileResult, WriteFileResult } from '@reach/protocol';
import { rpcContext } from '../../../test/helpers/rpc-context.ts';
import { PathPolicy } from '../path-policy.ts';
import { listFilesHandler, modeString } from './list-files.ts';
import { readFileHandler } from './read-file.ts';
import { writeFileHandler } from './write-file.ts';

describe('file handlers', () => {
  let dir = '';
  let outside = '';
  const policyAll = new PathPolicy([]);
  before(async () => {
    const root = await realpath(await mkdtemp(join(tmpdir(), 'reach-files-')));
    dir = join(root, 'allowed');
    outside = join(root, 'outside');
    await mkdir(dir);
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'secret');
    await symlink(outside, join(dir, 'escape'));
  });
  after(async () => {
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  const read = (params: unknown, policy = policyAll) =>
    readFileHandler({ policy })(params, rpcContext('read_file')) as Promise<ReadFileResult>;
  const write = (params: unknown, policy = policyAll, maxFileBytes?: number) =>
    writeFileHandler({ policy, maxFileBytes })(params, rpcContext('write_file')) as Promise<{
      path: string;
      size: number;
    }>;
  const list = (params: unknown, policy = policyAll) =>
    listFilesHandler({ policy })(params, rpcContext('list_files')) as Promise<ListFilesResult>;

  /** Reads a whole file page by page, as a caller would, and returns its bytes and the pages. */
  async function readAllPages(params: Record<string, unknown>) {
    const parts: Buffer[] = [];
    const pages: ReadFileResult[] = [];
    let offset = 0;
    for (;;) {
      const r = ReadFileResult.parse(await read({ ...params, offset }));
      pages.push(r);
      assert.equal(r.offset, offset);
      parts.push(r.binary ? Buffer.from(r.content, 'base64') : Buffer.from(r.content, 'utf8'));
      offset += r.length;
      if (r.eof) break;
      assert.ok(r.length > 0, 'a page that is not the last one advances');
    }
    return { bytes: Buffer.concat(parts), pages };
  }

  describe('read_file', () => {
    test('UTF-8 text is returned as is, as one page', async () => {
      const p = join(dir, 'text.txt');
      await writeFile(p, 'héllo\n');
      const r = await read({ path: p });
      assert.deepEqual(ReadFileResult.parse(r), {
        content: 'héllo\n',
        size: 7,
        offset: 0,
        length: 7,
        eof: true,
        path: p,
      });
    });

    test('non-UTF-8 bytes come back base64 with binary: true', async () => {
      const p = join(dir, 'bin');
      const bytes = Buffer.from([0, 0xff, 0xfe, 0x80, 10]);
      await writeFile(p, bytes);
      const r = await read({ path: p });
      assert.equal(r.binary, true);
      assert.equal(r.size, 5);
      assert.deepEqual(Buffer.from(r.content, 'base64'), bytes);
    });

    test('a file past the cap pages: each page within max_bytes, whole on a cut character', async () => {
      const p = join(dir, 'multi');
      // 3-byte characters across 1 KiB pages: most page ends fall inside a character.
      const body = Buffer.from(`${'€'.repeat(5000)}tail`, 'utf8');
      await writeFile(p, body);
      const { bytes, pages } = await readAllPages({ path: p, max_bytes: 1024 });
      assert.deepEqual(bytes, body);
      assert.ok(pages.length >= 15);
      for (const page of pages) {
        assert.equal(page.binary, undefined);
        assert.ok(Buffer.byteLength(JSON.stringify(page.content)) <= 1024);
        assert.equal(page.size, body.length);
      }
    });

    test('bytes JSON escaping would inflate past the cap go as base64 within it', async () => {
      const p = join(dir, 'nuls');
      const body = Buffer.alloc(10 * 1024 * 1024 + 3);
      body.write('end', body.length - 3);
      await writeFile(p, body);
      const first = await read({ path: p });
      assert.equal(first.binary, true);
      assert.ok(Buffer.byteLength(JSON.stringify(first.content)) <= 256 * 1024);
      assert.equal(first.eof, false);
      const { bytes } = await readAllPages({ path: p, max_bytes: 4 * 1024 * 1024 });
      assert.deepEqual(bytes, body);
    });

    test('offset and length pick a range; past the end is an empty last page', async () => {
      const p = join(dir, 'range');
      await writeFile(p, 'abcdefghij');
      assert.deepEqual(await read({ path: p, offset: 2, length: 3 }), {
        content: 'cde',
        length: 3,
        size: 10,
        offset: 2,
        eof: false,
        path: p,
      });
      const last = await read({ path: p, offset: 7, length: 100 });
      assert.equal(last.content, 'hij');
      assert.equal(last.eof, true);
      const past = await read({ path: p, offset: 50 });
      assert.equal(past.content, '');
      assert.equal(past.eof, true);
      await assert.rejects(read({ path: p, offset: -1 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(read({ path: p, length: 0 }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(read({ path: p, max_bytes: 9 * 1024 * 1024 }), { code: 'INVALID_ARGUMENT' });
    });

    test('errors: missing, directory, fifo, outside the policy, relative', async () => {
      await assert.rejects(read({ path: join(dir, 'missing') }), { code: 'FILE_NOT_FOUND' });
      await assert.rejects(read({ path: dir }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(read({ path: '/dev/null' }), { code: 'INVALID_ARGUMENT' });
      const policy = new PathPolicy([dir]);
      await assert.rejects(read({ path: join(dir, 'escape', 'secret') }, policy), { code: 'PATH_DENIED' });
      await assert.rejects(read({ path: `${dir}/../outside/secret` }, policy), { code: 'PATH_DENIED' });
      await assert.rejects(read({ path: 'x' }), { code: 'INVALID_ARGUMENT' });
    });
  });

  describe('write_file', () => {
    test('writes text, creates parents, leaves no temp file', async () => {
      const p = join(dir, 'a', 'b', 'c.txt');
      const r = await write({ path: p, content: 'hé' });
      assert.deepEqual(WriteFileResult.parse(r), { path: p, size: 3 });
      assert.equal(await readFile(p, 'utf8'), 'hé');
      assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['c.txt']);
    });

    test('binary content is base64; invalid base64 is refused', async () => {
      const p = join(dir, 'w.bin');
      await write({ path: p, content: Buffer.from([1, 2, 255]).toString('base64'), binary: true });
      assert.deepEqual(await readFile(p), Buffer.from([1, 2, 255]));
      await assert.rejects(write({ path: p, content: '***', binary: true }), { code: 'INVALID_ARGUMENT' });
    });

    test('keeps the existing mode unless mode is given', async () => {
      const p = join(dir, 'script.sh');
      await writeFile(p, 'old');
      await chmod(p, 0o750);
      await write({ path: p, content: 'new' });
      assert.equal((await stat(p)).mode & 0o7777, 0o750);
      await write({ path: p, content: 'newer', mode: 0o600 });
      assert.equal((await stat(p)).mode & 0o7777, 0o600);
      assert.equal(await readFile(p, 'utf8'), 'newer');
    });

    test('size limit is enforced before anything is written', async () => {
      const p = join(dir, 'limited');
      await assert.rejects(write({ path: p, content: 'x'.repeat(11) }, policyAll, 10), {
        code: 'FILE_TOO_LARGE',
      });
      await assert.rejects(stat(p), { code: 'ENOENT' });
    });

    test('a failed write leaves the target and the directory as they were', async () => {
      const target = join(dir, 'target-dir');
      await mkdir(target);
      await assert.rejects(write({ path: target, content: 'x' }), { code: 'INVALID_ARGUMENT' });
      const blocker = join(dir, 'plainfile');
      await writeFile(blocker, 'p');
      await assert.rejects(write({ path: join(blocker, 'child'), content: 'x' }), {
        code: 'INVALID_ARGUMENT',
      });
      assert.equal(await readFile(blocker, 'utf8'), 'p');
      assert.equal((await readdir(dir)).filter((n) => n.endsWith('.tmp')).length, 0);
    });

    test('a file the OS refuses to replace is PERMISSION_DENIED (immutable: refused even to root)', async (t) => {
      const p = join(dir, 'immutable');
      await writeFile(p, 'keep');
      if (spawnSync('chattr', ['+i', p]).status !== 0) {
        t.skip('chattr +i not supported here');
        return;
      }
      try {
        await assert.rejects(write({ path: p, content: 'x' }), { code: 'PERMISSION_DENIED' });
        assert.equal(await readFile(p, 'utf8'), 'keep');
        assert.equal((await readdir(dir)).filter((n) => n.endsWith('.tmp')).length, 0);
      } finally {
        spawnSync('chattr', ['-i', p]);
      }
    });

    test('symlink and .. escapes are denied and nothing is written outside', async () => {
      const policy = new PathPolicy([dir]);
      await assert.rejects(write({ path: join(dir, 'escape', 'new'), content: 'x' }, policy), {
        code: 'PATH_DENIED',
      });
      await assert.rejects(write({ path: `${dir}/sub/../../outside/new2`, content: 'x' }, policy), {
        code: 'PATH_DENIED',
      });
      assert.deepEqual(await readdir(outside), ['secret']);
    });
  });

  describe('list_files', () => {
    test('entries with type from lstat, size, mode string and ISO mtime', async () => {
      const d = join(dir, 'listing');
      await mkdir(join(d, 'sub'), { recursive: true });
      await writeFile(join(d, 'f.txt'), 'abc');
      await chmod(join(d, 'f.txt'), 0o640);
      await chmod(join(d, 'sub'), 0o755);
      await symlink(join(d, 'f.txt'), join(d, 'link'));
      const r = await list({ path: d });
      assert.deepEqual(ListFilesResult.parse(r), r);
      const byName = Object.fromEntries(r.entries.map((e) => [e.name, e]));
      assert.equal(byName['f.txt']?.type, 'file');
      assert.equal(byName['f.txt']?.size, 3);
      assert.equal(byName['f.txt']?.mode, '-rw-r-----');
      assert.equal(byName.sub?.type, 'dir');
      assert.equal(byName.sub?.mode, 'drwxr-xr-x');
      assert.equal(byName.link?.type, 'symlink');
      assert.match(byName.link?.mode ?? '', /^l/);
      assert.ok(!Number.isNaN(Date.parse(byName['f.txt']?.mtime ?? '')));
      assert.deepEqual(
        r.entries.map((e) => e.name),
        ['f.txt', 'link', 'sub'],
      );
    });

    test('errors: missing, a file, outside the policy', async () => {
      await assert.rejects(list({ path: join(dir, 'missing') }), { code: 'FILE_NOT_FOUND' });
      await writeFile(join(dir, 'lf'), '');
      await assert.rejects(list({ path: join(dir, 'lf') }), { code: 'INVALID_ARGUMENT' });
      await assert.rejects(list({ path: join(dir, 'escape') }, new PathPolicy([dir])), {
        code: 'PATH_DENIED',
      });
    });

    test('modeString covers special bits and types', () => {
      assert.equal(modeString(0o104755), '-rwsr-xr-x');
      assert.equal(modeString(0o041777), 'drwxrwxrwt');
      assert.equal(modeString(0o102644), '-rw-r-Sr--');
      assert.equal(modeString(0o010600), 'prw-------');
      assert.equal(modeString(0o020666), 'crw-rw-rw-');
    });
  });
});
