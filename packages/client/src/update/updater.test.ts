import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ReachError } from '@reach/protocol';
import { manifestFor, testReleaseKey } from '../../test/helpers/release-signer.ts';
import { createLogger } from '../log/logger.ts';
import { readUpdateState } from './update-state.ts';
import { Updater } from './updater.ts';

const A = Buffer.from('#!/bin/sh\necho version A\n');
const B = Buffer.concat([Buffer.from('#!/bin/sh\necho version B\n'), Buffer.alloc(200_000, 0x23)]);
const NAME = 'reach-test-exe';

/** What the HTTP server answers for the artifact: the real bytes, other bytes, or half then a cut. */
let serve: 'good' | 'tampered' | 'truncate' = 'good';
const ranges: (string | undefined)[] = [];
let server: Server;
let url = '';
let dir = '';
const key = testReleaseKey();
const manifest = manifestFor('2.0.0', NAME, B);

before(async () => {
  server = createServer((req, res) => {
    ranges.push(req.headers.range);
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    const body = serve === 'tampered' ? Buffer.from(B).fill(0x41, 100, 101) : B;
    if (serve === 'truncate') {
      // A body that ends early (chunked, so the HTTP layer sees nothing wrong).
      res.writeHead(200);
      res.end(body.subarray(0, 50_000));
      return;
    }
    res.writeHead(start > 0 ? 206 : 200, { 'content-length': String(body.length - start) });
    res.end(body.subarray(start));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/releases/2.0.0/`;
});
after(() => server.close());

beforeEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = await mkdtemp(join(tmpdir(), 'reach-updater-'));
  await writeFile(join(dir, 'reach'), A, { mode: 0o755 });
  serve = 'good';
  ranges.length = 0;
});
after(() => rm(dir, { recursive: true, force: true }));

function updater(over: { publicKey?: string; version?: string; autoUpdate?: boolean } = {}) {
  let stopped = 0;
  const u = new Updater({
    dir: join(dir, 'update'),
    exe: join(dir, 'reach'),
    args: [],
    env: {},
    version: over.version ?? '1.0.0',
    publicKey: over.publicKey ?? key.line,
    autoUpdate: over.autoUpdate ?? true,
    healthWindowMs: 60_000,
    systemd: false,
    log: createLogger('silent'),
    stopAgent: () => {
      stopped += 1;
    },
  });
  return { u, stopped: () => stopped };
}

const params = (over: Record<string, unknown> = {}) => ({
  version: '2.0.0',
  manifest: manifest.toString('base64'),
  signature: key.sign(manifest),
  source: 'url' as const,
  url,
  force: false,
  ...over,
});

/** Nothing replaced: the executable is still A, no .new or .prev beside it. */
async function untouched() {
  assert.deepEqual(await readFile(join(dir, 'reach')), A);
  assert.equal(existsSync(join(dir, 'reach.new')), false);
  assert.equal(existsSync(join(dir, 'reach.prev')), false);
  assert.equal(await readUpdateState(join(dir, 'update')), undefined);
}

async function refused(p: Promise<unknown>, code: string, reason?: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ReachError, String(err));
    assert.equal(err.code, code, err.message);
    if (reason !== undefined) assert.equal(err.details?.reason, reason);
    return true;
  });
}

describe('Updater.apply', () => {
  test('a full disk is UPDATE_REFUSED (disk_full), nothing replaced', {
    skip: !existsSync('/dev/full'),
  }, async () => {
    const { u } = updater();
    await u.start();
    // Writes to /dev/full fail with ENOSPC: the partial download lands there.
    await symlink('/dev/full', join(dir, 'update', `${NAME}.part`));
    await refused(u.apply(params()), 'UPDATE_REFUSED', 'disk_full');
    await untouched();
  });

  test('verifies, swaps in B beside a kept A, records applied, then stops the agent', async () => {
    const { u, stopped } = updater();
    await u.start();
    const result = await u.apply(params());
    assert.deepEqual(result, { accepted: true, state: 'applied', from: '1.0.0', to: '2.0.0' });
    assert.deepEqual(await readFile(join(dir, 'reach')), B);
    assert.deepEqual(await readFile(join(dir, 'reach.prev')), A);
    const state = await readUpdateState(join(dir, 'update'));
    assert.equal(state?.state, 'applied');
    assert.equal(state?.to, '2.0.0');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stopped(), 1);
    // The new process (version 2.0.0) marks it healthy once registered.
    const next = updater({ version: '2.0.0' }).u;
    await next.start();
    await next.registered();
    assert.equal((await readUpdateState(join(dir, 'update')))?.state, 'healthy');
    assert.equal(next.lastUpdate?.state, 'healthy');
  });

  test('a tampered artifact (one byte changed) is refused, nothing replaced', async () => {
    serve = 'tampered';
    const { u } = updater();
    await u.start();
    await refused(u.apply(params()), 'INTEGRITY_ERROR', 'sha256_mismatch');
    await untouched();
  });

  test('a manifest signed by another key is refused before anything is fetched', async () => {
    const other = testReleaseKey();
    const { u } = updater();
    await u.start();
    await refused(u.apply(params({ signature: other.sign(manifest) })), 'SIGNATURE_INVALID', 'wrong_key');
    assert.equal(ranges.length, 0);
    await untouched();
  });

  test('a changed manifest under the right key is refused (bad_signature)', async () => {
    const { u } = updater();
    await u.start();
    const changed = Buffer.from(manifest.toString().replace('"node":"', '"node":"x'));
    await refused(
      u.apply(params({ manifest: changed.toString('base64') })),
      'SIGNATURE_INVALID',
      'bad_signature',
    );
    await untouched();
  });

  test('a version not newer than the running one is refused unless forced', async () => {
    const { u } = updater({ version: '2.0.0' });
    await u.start();
    await refused(u.apply(params()), 'UPDATE_REFUSED', 'downgrade');
    await untouched();
    const forced = await u.apply(params({ force: true }));
    assert.equal(forced.accepted, true);
  });

  test('no update_public_key, or auto_update: false, refuses', async () => {
    const none = updater({ publicKey: '' }).u;
    await none.start();
    await refused(none.apply(params()), 'UPDATE_REFUSED', 'no_update_key');
    const off = updater({ autoUpdate: false }).u;
    await off.start();
    await refused(off.apply(params()), 'UPDATE_REFUSED', 'auto_update_off');
    await untouched();
  });

  test('a truncated download is refused, and the next try resumes it with a Range request', async () => {
    serve = 'truncate';
    const { u } = updater();
    await u.start();
    await refused(u.apply(params()), 'INTEGRITY_ERROR', 'truncated');
    await untouched();
    serve = 'good';
    const result = await u.apply(params());
    assert.equal(result.accepted, true);
    assert.equal(ranges.at(-1), 'bytes=50000-');
    assert.deepEqual(await readFile(join(dir, 'reach')), B);
  });
});
