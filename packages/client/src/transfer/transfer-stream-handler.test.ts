import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rename,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  fromTransferFailure,
  TRANSFER,
  TransferFailure,
  type TransferRequest,
  TransferSourceInfo,
} from '@reach/protocol';
import { openSource, receiveTarget, sendSource, TransferChannel } from '@reach/protocol/node';
import { z } from 'zod';
import { PathPolicy } from '../agent/path-policy.ts';
import { createLogger } from '../log/logger.ts';
import { createTransferStreamHandler } from './transfer-stream-handler.ts';

const SourceInfoOrFailure = z.union([TransferSourceInfo, TransferFailure]);

/**
 * The transfer handler with the real path policy, against a directory component swapped for a
 * symlink after the policy's check (the check wrapper swaps right after the chosen call, which is
 * when a local user racing the agent would have to): the confirm on the opened file refuses it.
 */
describe('transfer stream handler against a symlink swapped in after the check', () => {
  let root = '';
  let allowed = '';
  let outside = '';
  let local = '';
  let dir = '';
  let n = 0;
  const policy = new PathPolicy([]);
  /** Swap `dir` for a symlink to `outside` right after this check call (1-based); 0: never. */
  let swapAfterCall = 0;
  let calls = 0;

  const handler = createTransferStreamHandler({
    checkPath: async (p) => {
      const resolved = await policy.check(p);
      calls += 1;
      if (calls === swapAfterCall) {
        await rename(dir, `${dir}-moved`);
        await symlink(outside, dir);
      }
      return resolved;
    },
    confirm: (fh, p) => policy.confirmOpen(fh, p),
    log: createLogger('silent'),
  });

  /** Opens a transfer channel to the handler and sends `request`, as the server does. */
  async function openTransfer(request: TransferRequest): Promise<TransferChannel> {
    const [serverEnd, clientEnd] = duplexPair();
    handler(clientEnd);
    const ch = new TransferChannel(serverEnd);
    await ch.writeFrame(request);
    return ch;
  }

  async function get(path: string, dest: string) {
    const ch = await openTransfer({ op: 'get', v: TRANSFER.version, id: `get-${n}`, path });
    try {
      const info = await ch.readFrame(SourceInfoOrFailure, 'source info');
      // A refused source is refused before anything about it, even its size, is sent.
      if (!info.ok) throw fromTransferFailure(info);
      return await receiveTarget(ch, {
        kind: 'file',
        path: dest,
        size: info.size,
        mode: 0o600,
        overwrite: true,
      });
    } finally {
      ch.end();
    }
  }

  async function put(source: string, size: number, path: string, resumeKey?: string) {
    const request: TransferRequest = {
      op: 'put',
      v: TRANSFER.version,
      id: `put-${n}`,
      path,
      kind: 'file',
      size,
      mode: 0o644,
      overwrite: true,
    };
    if (resumeKey) request.resume_key = resumeKey;
    const ch = await openTransfer(request);
    try {
      const opened = await openSource(source);
      try {
        return await sendSource(ch, opened);
      } finally {
        await opened.fh.close();
      }
    } finally {
      ch.end();
    }
  }

  before(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'reach-xfer-swap-')));
    allowed = join(root, 'allowed');
    local = join(root, 'server-side');
    await mkdir(allowed);
    await mkdir(local);
    policy.setServerPaths([allowed]);
  });
  beforeEach(async () => {
    n += 1;
    calls = 0;
    swapAfterCall = 0;
    dir = join(allowed, `case-${n}`, 'dir');
    outside = join(root, `outside-${n}`);
    await mkdir(dir, { recursive: true });
    await mkdir(outside);
    await writeFile(join(dir, 'f.bin'), 'inside');
    await writeFile(join(outside, 'f.bin'), 'outside secret');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('get: unswapped, the file is sent', async () => {
    const dest = join(local, `got-${n}`);
    await get(join(dir, 'f.bin'), dest);
    assert.equal(await readFile(dest, 'utf8'), 'inside');
  });

  test('get: a directory component swapped after the check is PATH_DENIED, nothing sent', async () => {
    swapAfterCall = 1;
    const dest = join(local, `got-${n}`);
    await assert.rejects(get(join(dir, 'f.bin'), dest), { code: 'PATH_DENIED' });
    assert.deepEqual(
      (await readdir(local)).filter((f) => f.includes(`got-${n}`)),
      [],
    );
  });

  test('put: unswapped, the file lands', async () => {
    const source = join(local, `src-${n}`);
    const body = randomBytes(100_000);
    await writeFile(source, body);
    await put(source, body.length, join(dir, 'new.bin'));
    assert.deepEqual(await readFile(join(dir, 'new.bin')), body);
  });

  for (const resumeKey of [undefined, 'ef'.repeat(8)]) {
    test(`put${resumeKey ? ' (resumable)' : ''}: a directory swapped after the checks is PATH_DENIED, nothing left outside`, async () => {
      // Call 1 checks the destination, call 2 its directory: swap after both.
      swapAfterCall = 2;
      const source = join(local, `src-${n}`);
      await writeFile(source, 'evil');
      await assert.rejects(put(source, 4, join(dir, 'f.bin'), resumeKey), { code: 'PATH_DENIED' });
      assert.deepEqual(await readdir(outside), ['f.bin']);
      assert.equal(await readFile(join(outside, 'f.bin'), 'utf8'), 'outside secret');
      assert.equal(await readFile(join(`${dir}-moved`, 'f.bin'), 'utf8'), 'inside');
    });
  }
});
