import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CommandCapture, headAndTail, StreamCapture } from './command-capture.ts';
import { OutputStore } from './output-store.ts';

const jsonBytes = (s: string) => Buffer.byteLength(JSON.stringify(s));

describe('OutputStore', () => {
  let root = '';
  let n = 0;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reach-outputs-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });
  const make = async (opts: Partial<ConstructorParameters<typeof OutputStore>[0]> = {}) => {
    const store = new OutputStore({ dir: join(root, `s${n++}`), ...opts });
    await store.start();
    return store;
  };

  test('start empties the directory (0700); outputs are 0600 files read by range', async () => {
    const dir = join(root, 'restart');
    const first = new OutputStore({ dir });
    await first.start();
    await writeFile(join(dir, 'left-over.stdout'), 'old');
    first.close();
    // A symlink in its place is removed, never followed.
    const elsewhere = join(root, 'elsewhere');
    await mkdir(elsewhere);
    await writeFile(join(elsewhere, 'keep'), 'kept');
    const linked = new OutputStore({ dir: join(root, 'linked') });
    await symlink(elsewhere, join(root, 'linked'));
    await linked.start();
    assert.equal((await lstat(join(root, 'linked'))).isDirectory(), true);
    assert.deepEqual(await readdir(elsewhere), ['keep']);
    linked.close();
    const store = new OutputStore({ dir });
    await store.start();
    assert.deepEqual(await readdir(dir), []);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const e = store.create();
    assert.ok(e);
    e.append('stdout', Buffer.from('hello world'));
    e.finish();
    assert.equal((await stat(store.pathOf(e.id, 'stdout'))).mode & 0o777, 0o600);
    const r = await store.read(e.id, 'stdout', 6, 100);
    assert.deepEqual([r.bytes.toString(), r.size, r.complete], ['world', 11, true]);
    assert.equal((await store.read(e.id, 'stderr', 0, 100)).size, 0);
    store.close();
  });

  test('an output is gone after its TTL, file and all', async () => {
    let now = 1_000;
    const store = await make({ ttlMs: 60_000, now: () => now });
    const e = store.create();
    assert.ok(e);
    e.append('stdout', Buffer.from('x'));
    e.finish();
    now += 59_999;
    assert.equal((await store.read(e.id, 'stdout', 0, 10)).bytes.toString(), 'x');
    now += 1;
    await assert.rejects(store.read(e.id, 'stdout', 0, 10), { code: 'FILE_NOT_FOUND' });
    assert.equal(existsSync(store.pathOf(e.id, 'stdout')), false);
    assert.equal(store.totalBytes, 0);
    store.close();
  });

  test('the total cap drops the oldest finished outputs first; a stream past its cap is incomplete', async () => {
    const store = await make({ maxTotalBytes: 100, maxStreamBytes: 70 });
    const a = store.create();
    const b = store.create();
    assert.ok(a && b);
    a.append('stdout', Buffer.alloc(60));
    a.finish();
    b.append('stdout', Buffer.alloc(50));
    assert.equal(store.count, 1, 'a was dropped to make room for b');
    await assert.rejects(store.read(a.id, 'stdout', 0, 1), { code: 'FILE_NOT_FOUND' });
    b.append('stdout', Buffer.alloc(50));
    b.finish();
    const r = await store.read(b.id, 'stdout', 0, 1000);
    assert.deepEqual([r.size, r.complete], [70, false]);
    assert.ok(store.totalBytes <= 100);
    // A running output is never dropped for another: past the total the newcomer is cut.
    const c = store.create();
    const d = store.create();
    assert.ok(c && d);
    c.append('stdout', Buffer.alloc(70));
    d.append('stdout', Buffer.alloc(70));
    c.finish();
    d.finish();
    assert.equal((await store.read(c.id, 'stdout', 0, 100)).size, 70);
    const dr = await store.read(d.id, 'stdout', 0, 100);
    assert.deepEqual([dr.size, dr.complete], [30, false]);
    store.close();
  });

  test('the count cap: outputs still being written are kept, finished ones make room', async () => {
    const store = await make({ maxEntries: 2 });
    const a = store.create();
    const b = store.create();
    assert.ok(a && b);
    assert.equal(store.create(), undefined);
    a.finish();
    const c = store.create();
    assert.ok(c);
    assert.equal(store.count, 2);
    await assert.rejects(store.read(a.id, 'stdout', 0, 1), { code: 'FILE_NOT_FOUND' });
    store.close();
  });
});

describe('command capture', () => {
  test('head and tail fit the budget with multi-byte and control characters, cut on whole characters', () => {
    const s = new StreamCapture(1000, () => {});
    const body = `${'é\u0001'.repeat(3000)}END`;
    s.push(Buffer.from(body));
    for (const budget of [1024, 1500, 4000]) {
      const text = headAndTail(s, 'stdout', budget, '6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f');
      assert.ok(jsonBytes(text) <= budget, `${jsonBytes(text)} <= ${budget}`);
      assert.ok(!text.includes('\ufffd'), 'no character cut in half');
      assert.ok(text.startsWith('é\u0001'));
      assert.ok(text.endsWith('END'));
      assert.match(text, /bytes omitted here; read_output output_id=6f1c1d2e/);
    }
  });

  test('a small stream keeps all it needs; the big one gets the rest; both are stored whole', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reach-capture-'));
    const store = new OutputStore({ dir });
    await store.start();
    const cap = new CommandCapture(2048, store);
    const big = Buffer.from('0123456789'.repeat(1000));
    for (let i = 0; i < big.length; i += 333) cap.stdout.push(big.subarray(i, i + 333));
    cap.stderr.push(Buffer.from('warning: short\n'));
    const shaped = cap.finish();
    assert.equal(shaped.truncated, true);
    assert.equal(shaped.stderr, 'warning: short\n');
    assert.ok(jsonBytes(shaped.stdout) + jsonBytes(shaped.stderr) <= 2048);
    assert.deepEqual([shaped.stdout_bytes, shaped.stderr_bytes], [10_000, 15]);
    assert.ok(shaped.output_id);
    assert.deepEqual((await store.read(shaped.output_id, 'stdout', 0, 20_000)).bytes, big);
    assert.equal((await store.read(shaped.output_id, 'stderr', 0, 100)).bytes.toString(), 'warning: short\n');
    // Output within the cap is returned whole and nothing is stored.
    const small = new CommandCapture(2048, store);
    small.stdout.push(Buffer.from('ok\n'));
    assert.deepEqual(small.finish(), {
      stdout: 'ok\n',
      stderr: '',
      truncated: false,
      stdout_bytes: 3,
      stderr_bytes: 0,
    });
    assert.equal(store.count, 1);
    store.close();
    await rm(dir, { recursive: true, force: true });
  });
});
