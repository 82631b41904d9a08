/**
 * Client self-update end to end (#16): a real reach-server and a real client that fetches the
 * executable over its own SSH link (or, with --release-url, over HTTP) and whose "executable" is
 * a small launcher script running
 * the client bundle with REACH_BUILD_VERSION baked in: version A and each B differ only there, so
 * no single executable is built per test. update_clients drives every case; run_command's
 * `echo $REACH_BUILD_VERSION` says which version is serving.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { freePort } from '../../../test-support/openssh.ts';
import { testReleaseKey } from './helpers/release-signer.ts';
import { waitFor } from './helpers/rpc-context.ts';
import { ARTIFACT, launcher, startUpdateHarness, type UpdateHarness } from './helpers/update-harness.ts';

const run = promisify(execFile);
const REPO = join(import.meta.dirname, '..', '..', '..');

describe('client self-update over a real server and client', { skip: process.platform === 'win32' }, () => {
  const A = launcher('1.0.0');
  let h: UpdateHarness;

  before(async () => {
    h = await startUpdateHarness(A);
    await h.startClient();
  });
  after(() => h?.close());

  test('a tampered artifact is refused: A keeps running, nothing replaced', async () => {
    const b = launcher('1.1.0');
    const served = Buffer.from(b);
    served.writeUInt8((served.at(-2) ?? 0) ^ 1, served.length - 2);
    await h.release('1.1.0', b, { served });
    const c = await h.rollout('1.1.0');
    assert.equal(c.state, 'failed');
    assert.match(String(c.reason), /^INTEGRITY_ERROR/);
    assert.deepEqual(await readFile(h.exe), A);
    assert.equal(await h.runningVersion(), '1.0.0');
  });

  test('a manifest signed by another key is refused: A keeps running', async () => {
    await h.release('1.2.0', launcher('1.2.0'), { signer: testReleaseKey() });
    const c = await h.rollout('1.2.0');
    assert.equal(c.state, 'failed');
    assert.match(String(c.reason), /^SIGNATURE_INVALID/);
    assert.deepEqual(await readFile(h.exe), A);
    assert.equal(await h.runningVersion(), '1.0.0');
  });

  test('a B that exits at start-up is rolled back to A and reported with its last output', async () => {
    await h.release(
      '1.3.0',
      Buffer.from('#!/bin/sh\necho $$ >> "$REACH_HOME/pids"\necho "B: cannot start" >&2\nexit 7\n'),
    );
    const c = await h.rollout('1.3.0');
    assert.equal(c.state, 'rolled_back', JSON.stringify(c));
    assert.match(String(c.reason), /exited with code 7/);
    assert.match(String(c.log_tail), /B: cannot start/);
    assert.deepEqual(await readFile(h.exe), A);
    assert.equal(await h.runningVersion(), '1.0.0');
  });

  test('SIGKILL mid-download keeps A; the next try finishes, and A→B reconnects reporting B', async () => {
    // 64 MiB: long enough on loopback for the partial file to be seen before it completes.
    const b = launcher('2.0.0', 64 * 1024 * 1024);
    await h.release('2.0.0', b);
    const part = join(h.home, 'update', `${ARTIFACT}.part`);
    const first = await h.rollout('2.0.0', async () => {
      assert.ok(
        await waitFor(async () => ((await stat(part).catch(() => undefined))?.size ?? 0) > 0, 20_000),
        'the download started',
      );
      const pids = (await readFile(join(h.home, 'pids'), 'utf8')).trim().split('\n');
      process.kill(Number(pids.at(-1)), 'SIGKILL');
    });
    assert.equal(first.state, 'failed');
    assert.deepEqual(await readFile(h.exe), A);
    const partial = (await stat(part)).size;
    assert.ok(partial > 0 && partial < b.length, `partial ${partial} of ${b.length}`);
    assert.ok(await waitFor(async () => !(await h.online()), 20_000), 'the killed client went offline');
    await h.startClient();
    assert.equal(await h.runningVersion(), '1.0.0');

    const second = await h.rollout('2.0.0');
    assert.equal(second.state, 'healthy', JSON.stringify(second));
    assert.equal(second.from, '1.0.0');
    assert.equal(await h.runningVersion(), '2.0.0');
    assert.deepEqual(await readFile(h.exe), b);
    assert.deepEqual(await readFile(`${h.exe}.prev`), A);
    const state = JSON.parse(await readFile(join(h.home, 'update', 'update.json'), 'utf8'));
    assert.equal(state.state, 'healthy');
    assert.equal(state.to, '2.0.0');
  });

  test('reach-server update --wait rolls out through the running daemon; update status shows it', async () => {
    const b = launcher('2.1.0');
    await h.release('2.1.0', b);
    const cli = (args: string[]) =>
      run(process.execPath, [
        join(REPO, 'packages/server/src/bin.ts'),
        ...args,
        ...['--data-dir', join(h.root, 'server'), '--ssh-port', String(h.server.sshPort)],
      ]);
    const out = await cli(['update', '--version', '2.1.0', '--client', h.uuid, '--wait']);
    assert.match(out.stdout, /^rollout-\S+ {2}2\.1\.0 {2}completed/);
    assert.match(out.stdout, /2\.0\.0 +healthy/);
    assert.equal(await h.runningVersion(), '2.1.0');
    const id = out.stdout.split(' ')[0] ?? '';
    const status = JSON.parse((await cli(['update', 'status', id, '--json'])).stdout);
    assert.equal(status[0].clients[0].state, 'healthy');
  });
});

/** A loopback TCP port free a moment ago (for a --release-url that must name the HTTP port). */
describe('self-update when the operator locks /releases or serves it elsewhere', {
  skip: process.platform === 'win32',
}, () => {
  test('with --releases-auth api-key the link delivers anyway (HTTP /releases without the key: 401)', async () => {
    const A = launcher('1.0.0');
    const h = await startUpdateHarness(A, { serverArgs: () => ['--releases-auth', 'api-key'] });
    try {
      await h.startClient();
      const b = launcher('1.5.0');
      await h.release('1.5.0', b);
      const res = await fetch(`http://127.0.0.1:${h.server.httpPort}/releases/1.5.0/${ARTIFACT}`);
      await res.arrayBuffer();
      assert.equal(res.status, 401, 'the HTTP route needs the key');
      const c = await h.rollout('1.5.0');
      assert.equal(c.state, 'healthy', JSON.stringify(c));
      assert.equal(await h.runningVersion(), '1.5.0');
      assert.deepEqual(await readFile(h.exe), b);
    } finally {
      await h.close();
    }
  });

  test('with --release-url the client fetches over HTTP from there', async () => {
    const A = launcher('1.0.0');
    const port = await freePort();
    const h = await startUpdateHarness(A, {
      httpPort: port,
      serverArgs: ({ http }) => ['--release-url', `http://127.0.0.1:${http}`],
    });
    try {
      await h.startClient();
      const b = launcher('1.6.0');
      await h.release('1.6.0', b);
      const c = await h.rollout('1.6.0');
      assert.equal(c.state, 'healthy', JSON.stringify(c));
      assert.equal(await h.runningVersion(), '1.6.0');
    } finally {
      await h.close();
    }
  });

  test('a client with auto_update: false is left alone: skipped, not failed, its executable untouched', async () => {
    const A = launcher('1.0.0');
    const h = await startUpdateHarness(A, { clientEnv: { REACH_AUTO_UPDATE: 'false' } });
    try {
      await h.startClient();
      await h.release('1.7.0', launcher('1.7.0'));
      const c = await h.rollout('1.7.0');
      assert.equal(c.state, 'skipped', JSON.stringify(c));
      assert.match(String(c.reason), /auto_update: false/);
      assert.deepEqual(await readFile(h.exe), A);
      assert.equal(await h.runningVersion(), '1.0.0');
    } finally {
      await h.close();
    }
  });

  test("a client on its own schedule takes its channel's release with no rollout, skips one that rolled back, and each is a webhook", async () => {
    // The server's webhooks, received on loopback.
    const events: Array<{ event: string; data: Record<string, unknown> }> = [];
    const receiver = createHttpServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        events.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
    const A = launcher('1.0.0');
    // 0.001 h = 3.6 s between checks (the first at a random point of that).
    const h = await startUpdateHarness(A, {
      clientEnv: { REACH_UPDATE_CHECK_INTERVAL_H: '0.001' },
      serverArgs: () => ['--webhook-url', hook],
    });
    const channels = join(h.root, 'server', 'releases', 'channels.json');
    const update = (e: { event: string }) => e.event.startsWith('client.update');
    try {
      await h.startClient();
      // A release that exits at start-up: rolled back, reported, and not tried again.
      await h.release('1.9.0', Buffer.from('#!/bin/sh\necho "1.9.0 cannot start" >&2\nexit 3\n'));
      await writeFile(channels, '{"stable": "1.9.0"}\n');
      assert.ok(await waitFor(async () => events.some(update), 60_000), 'a webhook for the failed update');
      // Three more checks' worth of time: still one attempt.
      await new Promise((r) => setTimeout(r, 11_000));
      assert.deepEqual(
        events
          .filter(update)
          .map((e) => [e.event, e.data.to, e.data.state, e.data.rollout_id, e.data.trigger]),
        [['client.update_failed', '1.9.0', 'rolled_back', null, 'schedule']],
      );
      assert.match(String(events.find(update)?.data.log_tail), /1\.9\.0 cannot start/);
      assert.deepEqual(await readFile(h.exe), A);
      assert.equal(await h.runningVersion(), '1.0.0');

      const b = launcher('2.0.0');
      await h.release('2.0.0', b);
      await writeFile(channels, '{"stable": "2.0.0"}\n');
      const versionNow = async () => {
        try {
          return (await h.runningVersion()) === '2.0.0';
        } catch {
          return false; // between the old process and the new one
        }
      };
      assert.ok(await waitFor(versionNow, 60_000), 'the client updated itself to 2.0.0');
      assert.deepEqual(await readFile(h.exe), b);
      assert.deepEqual(await readFile(`${h.exe}.prev`), A);
      assert.ok(await waitFor(async () => events.filter(update).length === 2, 20_000), 'client.updated sent');
      const updated = events.filter(update)[1];
      assert.equal(updated?.event, 'client.updated');
      assert.deepEqual(updated?.data, { rollout_id: null, trigger: 'schedule', from: '1.0.0', to: '2.0.0' });
    } finally {
      await h.close();
      receiver.close();
    }
  });
});
