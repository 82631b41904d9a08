import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex, duplexPair } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { openSource } from './open-source.ts';
import { TransferChannel } from './transfer-channel.ts';
import { receiveTarget } from './transfer-receiver.ts';
import { sendSource } from './transfer-sender.ts';

/**
 * A peer that answers the offer, then takes writes without ever completing them, as an SSH
 * channel does when the window is shut. When the connection drops, ssh2 emits 'close' without
 * completing (or failing) the writes it holds.
 */
function stuckPeer(): Duplex {
  let offered = false;
  return new Duplex({
    // As an ssh2 channel: a 2 MiB buffer, so several chunks are taken before write() says wait.
    writableHighWaterMark: 2 * 1024 * 1024,
    read() {
      if (offered) return;
      offered = true;
      const body = Buffer.from(JSON.stringify({ ok: true, offset: 0 }));
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.byteLength, 0);
      this.push(Buffer.concat([head, body]));
    },
    write(_chunk, _enc, _cb) {
      // never calls back
    },
  });
}

describe('sendSource', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-sender-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a channel that dies while holding every read buffer fails the send instead of hanging', async () => {
    const path = join(dir, 'src.bin');
    await writeFile(path, randomBytes(8 * 1024 * 1024));
    const stream = stuckPeer();
    const source = await openSource(path);
    after(() => source.fh.close());
    const sending = sendSource(new TransferChannel(stream), source);
    await new Promise((r) => setTimeout(r, 200));
    stream.emit('close');
    await assert.rejects(sending, { code: 'CONNECTION_ERROR' });
  });

  test('a confirm that passes lets the file through', async () => {
    const path = join(dir, 'confirm-ok.bin');
    const dest = join(dir, 'confirm-ok-dest.bin');
    const body = randomBytes(1024 * 1024 + 7);
    await writeFile(path, body);
    let calls = 0;
    const [a, b] = duplexPair();
    const source = await openSource(path, async () => void calls++);
    after(() => source.fh.close());
    const [sent, received] = await Promise.all([
      sendSource(new TransferChannel(a), source),
      receiveTarget(new TransferChannel(b), {
        kind: 'file',
        path: dest,
        size: body.length,
        mode: 0o600,
        overwrite: false,
      }),
    ]);
    assert.equal(calls, 1);
    assert.equal(sent.sha256, received.sha256);
    assert.deepEqual(await readFile(dest), body);
  });
});
