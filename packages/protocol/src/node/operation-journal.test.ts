import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ReachError } from '../errors.ts';
import { OperationJournal } from './operation-journal.ts';

describe('OperationJournal', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-op-journal-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const journal = async (name: string, opts: { maxEntries?: number; maxBytes?: number } = {}) => {
    const j = new OperationJournal({ file: join(dir, name), ...opts });
    await j.start();
    return j;
  };

  test('an applied operation runs once; a retry replays the recorded result, also after a restart', async () => {
    const j = await journal('once.jsonl');
    let runs = 0;
    const work = async () => ({ n: ++runs });
    assert.deepEqual(await j.run('a', 'run_command', work), { n: 1 });
    assert.deepEqual(await j.run('a', 'run_command', work), { n: 1, replayed: true });
    await j.close();
    const again = await journal('once.jsonl');
    assert.deepEqual(await again.run('a', 'run_command', work), { n: 1, replayed: true });
    assert.equal(runs, 1);
    assert.deepEqual(await again.status('a'), {
      status: 'applied',
      op: 'run_command',
      result: { n: 1 },
      at: (await again.status('a')).at,
    });
    await again.close();
  });

  test('a retry while the first runs waits for it and gets its result; status says in_progress', async () => {
    const j = await journal('inflight.jsonl');
    let release: (() => void) | undefined;
    let runs = 0;
    const work = async () => {
      runs++;
      await new Promise<void>((r) => {
        release = r;
      });
      return { done: true };
    };
    const first = j.run('b', 'write_file', work);
    while (!release) await new Promise((r) => setTimeout(r, 5));
    const second = j.run('b', 'write_file', work);
    assert.equal((await j.status('b')).status, 'in_progress');
    release?.();
    assert.deepEqual(await first, { done: true });
    assert.deepEqual(await second, { done: true, replayed: true });
    assert.equal(runs, 1);
    await j.close();
  });

  test('a failed operation is not_applied and runs again on retry', async () => {
    const j = await journal('failed.jsonl');
    await assert.rejects(
      j.run('c', 'write_file', async () => {
        throw new ReachError('PATH_DENIED', 'nope');
      }),
    );
    const s = await j.status('c');
    assert.equal(s.status, 'not_applied');
    assert.match(s.reason ?? '', /PATH_DENIED/);
    assert.deepEqual(await j.run('c', 'write_file', async () => ({ ok: 1 })), { ok: 1 });
    await j.close();
  });

  test('never seen: not_applied; an interrupted run is judged by what its destination holds', async () => {
    const target = join(dir, 'target.txt');
    const body = Buffer.from('new content');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const file = join(dir, 'interrupted.jsonl');
    // What a process killed mid-write leaves: `started` lines only, and a torn last line.
    const started = (id: string, op: string, intent?: object) =>
      `${JSON.stringify({ id, op, state: 'started', at: 1, intent })}\n`;
    const intent = { path: target, sha256, size: body.length, result: { path: target, size: body.length } };
    await writeFile(
      file,
      `${started('w1', 'write_file', intent) + started('r1', 'run_command')}{"id":"torn","op":"wri`,
    );
    const j = new OperationJournal({ file });
    await j.start();
    assert.equal((await j.status('zzz')).status, 'not_applied');
    assert.equal((await j.status('torn')).status, 'not_applied');
    const r1 = await j.status('r1');
    assert.equal(r1.status, 'not_applied');
    assert.match(r1.reason ?? '', /interrupted/);
    await writeFile(target, 'old');
    assert.equal((await j.status('w1')).status, 'not_applied', 'the old content is still there');
    await writeFile(target, body);
    const w1 = await j.status('w1');
    assert.equal(w1.status, 'applied', 'the rename happened before the crash');
    assert.deepEqual(w1.result, intent.result);
    // A retry of the interrupted write that did land replays instead of writing again.
    let runs = 0;
    await j.run('w1', 'write_file', async () => ({ n: ++runs }), { intent });
    assert.equal(runs, 0);
    await j.close();
  });

  test('intend: a transfer killed after naming its content is judged by its destination on reload', async () => {
    const target = join(dir, 'transfer.bin');
    const body = Buffer.from('transferred body');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const j = await journal('intend.jsonl');
    await j.intend('not-running', { path: target, sha256, size: body.length, result: {} });
    assert.equal(j.get('not-running'), undefined, 'only a running operation takes an intent');
    let renamed: (() => void) | undefined;
    // The process "dies" here: the work never returns, so no applied line is ever written.
    void j.run('t1', 'download_file', async () => {
      await j.intend('t1', { path: target, sha256, size: body.length, result: { sha256 } });
      await writeFile(target, body); // the rename into place
      renamed?.();
      return new Promise<object>(() => undefined);
    });
    await new Promise<void>((r) => {
      renamed = r;
    });
    const again = await journal('intend.jsonl');
    const s = await again.status('t1');
    assert.equal(s.status, 'applied', JSON.stringify(s));
    assert.deepEqual(s.result, { sha256 });
    assert.match(s.reason ?? '', /received the new content/);
    await writeFile(target, 'old');
    assert.equal((await again.status('t1')).status, 'not_applied', 'judged by what is there now');
    await again.close();
  });

  test('bounded: past maxEntries the oldest are pruned, and a pruned id is unknown', async () => {
    const j = await journal('bounded.jsonl', { maxEntries: 40 });
    for (let i = 0; i < 100; i++) await j.run(`id-${i}`, 'run_command', async () => ({ i }));
    assert.ok(j.size <= 40, `kept ${j.size}`);
    assert.equal((await j.status('id-99')).status, 'applied');
    const pruned = await j.status('id-0');
    assert.equal(pruned.status, 'unknown');
    assert.match(pruned.reason ?? '', /dropped records/);
    await j.close();
    const reopened = await journal('bounded.jsonl', { maxEntries: 40 });
    assert.equal((await reopened.status('id-1')).status, 'unknown', 'the prune mark survives a restart');
    assert.equal((await reopened.status('id-99')).status, 'applied');
    await reopened.close();
  });

  test('bounded in bytes: the log file stays under maxBytes', async () => {
    const maxBytes = 64 * 1024;
    const j = await journal('bytes.jsonl', { maxBytes });
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 300; i++) await j.run(`b-${i}`, 'run_command', async () => ({ big }));
    assert.ok((await stat(join(dir, 'bytes.jsonl'))).size <= maxBytes);
    assert.equal((await j.status('b-299')).status, 'applied');
    await j.close();
    await appendFile(join(dir, 'bytes.jsonl'), 'not json\n');
    const text = await readFile(join(dir, 'bytes.jsonl'), 'utf8');
    assert.ok(text.startsWith('{"pruned_through"'));
  });
});
