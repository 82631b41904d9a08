import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { TransferChannel } from './transfer-channel.ts';
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
    const sending = sendSource(new TransferChannel(stream), { kind: 'file', path, size: 8 * 1024 * 1024 });
    await new Promise((r) => setTimeout(r, 200));
    stream.emit('close');
    await assert.rejects(sending, { code: 'CONNECTION_ERROR' });
  });
});
