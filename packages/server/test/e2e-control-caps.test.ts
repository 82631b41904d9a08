/**
 * End to end against a real reach-server process: one authorized key (never registered) opening
 * hundreds of `reach-control` channels on one connection and parking partial frames on them. Past
 * the per-connection cap the opens are refused, a frame longer than the control limit is refused
 * before its body, and the server's memory stays flat.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { FrameDecoder, LIMITS, LINK } from '@reach/protocol';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../../test-support/ed25519-key-pair.ts';
import { authorizeKey } from '../src/commands/authorize.ts';
import { CHANNEL_CAPS } from '../src/ssh/channel-budget.ts';
import { rssKiB, type ServerProc, startServerProcess } from './e2e-harness.ts';
import { tempDir } from './link-harness.ts';

function connect(port: number, privateKey: string): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port, username: 'reach', privateKey, readyTimeout: 10_000 });
  });
}

/** Opens a control channel: the stream, or the refusal. */
function control(c: ssh2.Client): Promise<{ stream?: Duplex; refused?: Error }> {
  return new Promise((resolve) => {
    c.subsys(LINK.controlSubsystem, (err, stream) => resolve(err ? { refused: err } : { stream }));
  });
}

/** The first decoded frame on a stream, and whether the server closed the stream after it. */
function reply(stream: Duplex): Promise<{ frame: unknown; closed: boolean }> {
  return new Promise((resolve) => {
    const decoder = new FrameDecoder();
    let frame: unknown;
    stream.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) if (f.ok && frame === undefined) frame = f.value;
    });
    stream.on('close', () => resolve({ frame, closed: true }));
  });
}

/** A `list_clients` request padded with JSON whitespace to exactly `size` body bytes. */
function paddedRequest(size: number): Buffer {
  const json = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'list_clients', params: {} });
  const body = Buffer.alloc(size, 0x20);
  body.write(json, 0, 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(size, 0);
  return Buffer.concat([head, body]);
}

const errorCode = (frame: unknown): string | undefined =>
  (frame as { error?: { data?: { code?: string } } } | undefined)?.error?.data?.code;

describe('e2e: control channels are capped per connection and framed small', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ServerProc;
  let key: { private: string; public: string };

  before(async () => {
    dir = await tempDir('reach-e2e-control-caps-');
    const dataDir = join(dir.path, 'server');
    server = await startServerProcess(dataDir);
    key = ed25519KeyPair('control-flood');
    await authorizeKey(dataDir, key.public);
    await writeFile(join(dir.path, 'client'), key.private, { mode: 0o600 });
  });
  after(async () => {
    await server?.stop();
    await dir?.remove();
  });

  test('500 control channels on one connection: past the cap refused at the open, RSS flat', async (t) => {
    const c = await connect(server.sshPort, key.private);
    try {
      const warm = await control(c);
      assert.ok(warm.stream);
      warm.stream.destroy();
      const beforeKiB = await rssKiB(server.proc.pid!);

      const opened = await Promise.all(Array.from({ length: 500 }, () => control(c)));
      const streams = opened.flatMap((o) => (o.stream ? [o.stream] : []));
      const refused = opened.filter((o) => o.refused);
      assert.equal(streams.length, CHANNEL_CAPS.control);
      assert.equal(refused.length, 500 - CHANNEL_CAPS.control);
      assert.match(refused[0]!.refused!.message, /open failure/i);

      // Each admitted channel parks the longest partial frame the control limit lets through.
      const request = paddedRequest(LIMITS.maxControlRequestBytes);
      for (const s of streams) s.write(request.subarray(0, request.length - 1));
      const duringKiB = await rssKiB(server.proc.pid!);

      // The parked frames are intact: the last byte completes each, and each is answered.
      const answers = streams.map(
        (s) =>
          new Promise<unknown>((resolve) => {
            const decoder = new FrameDecoder();
            s.on('data', (chunk: Buffer) => {
              for (const f of decoder.push(chunk)) if (f.ok) resolve(f.value);
            });
          }),
      );
      for (const s of streams) s.write(request.subarray(request.length - 1));
      for (const a of await Promise.all(answers)) assert.ok('result' in (a as object), JSON.stringify(a));

      // Closing them frees their slots.
      await Promise.all(
        streams.map((s) => {
          const closed = new Promise((r) => s.once('close', r));
          s.destroy();
          return closed;
        }),
      );
      const again = await control(c);
      assert.ok(again.stream, 'a slot is free again once a channel closed');
      again.stream.destroy();

      const afterKiB = await rssKiB(server.proc.pid!);
      t.diagnostic(`server RSS: before ${beforeKiB} KiB, during ${duringKiB} KiB, after ${afterKiB} KiB`);
      console.log(
        `[control-caps] server RSS before ${beforeKiB} KiB, with 500 opens ${duringKiB} KiB, after ${afterKiB} KiB`,
      );
      assert.ok(duringKiB - beforeKiB < 32 * 1024, `RSS grew from ${beforeKiB} KiB to ${duringKiB} KiB`);
    } finally {
      c.end();
    }
    assert.equal(server.proc.exitCode, null, 'server still running');
  });

  test('a frame longer than the control limit is refused before its body; a 16 MiB prefix parks nothing', {
    timeout: 60_000,
  }, async () => {
    const c = await connect(server.sshPort, key.private);
    try {
      for (const length of [LIMITS.maxControlRequestBytes + 1, LIMITS.maxFrameBytes - 1]) {
        const { stream } = await control(c);
        assert.ok(stream);
        const answered = reply(stream);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(length, 0);
        stream.write(head);
        // Part of the body only: the old limit (16 MiB) waited for the rest, holding what came.
        stream.write(Buffer.alloc(Math.min(length - 1, 256 * 1024), 0x20));
        const { frame, closed } = await answered;
        assert.equal(errorCode(frame), 'FRAME_TOO_LARGE', `length ${length}`);
        assert.equal(closed, true, 'the stream cannot be resynchronised, so it is closed');
      }
      // A request of exactly the limit is still served.
      const { stream } = await control(c);
      assert.ok(stream);
      const decoder = new FrameDecoder();
      const answer = new Promise<unknown>((resolve) => {
        stream.on('data', (chunk: Buffer) => {
          for (const f of decoder.push(chunk)) if (f.ok) resolve(f.value);
        });
      });
      stream.write(paddedRequest(LIMITS.maxControlRequestBytes));
      assert.ok('result' in ((await answer) as object));
      stream.destroy();
    } finally {
      c.end();
    }
  });
});
