import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair } from 'node:stream';
import { after, describe, test } from 'node:test';
import { ReleaseFetchAnswer } from '@reach/protocol';
import { TransferChannel } from '@reach/protocol/node';
import { fakeRelease } from '../../test/helpers/release-fixture.ts';
import { createLogger } from '../log/logger.ts';
import { ReleaseStore } from './release-store.ts';
import { serveReleaseStream } from './release-stream.ts';

/** One request on a fresh channel: the answer frame and the body bytes that followed it. */
async function fetchOver(store: ReleaseStore, request: unknown) {
  const [client, server] = duplexPair();
  const served = serveReleaseStream(store, server, createLogger('silent'));
  const ch = new TransferChannel(client);
  await ch.writeFrame(request);
  const answer = await ch.readFrame(ReleaseFetchAnswer, 'answer');
  const chunks: Buffer[] = [];
  if (answer.ok) await ch.readBody((c) => void chunks.push(Buffer.from(c)));
  await served;
  client.destroy();
  return { answer, body: Buffer.concat(chunks) };
}

describe('the reach-release channel', async () => {
  const root = await mkdtemp(join(tmpdir(), 'reach-release-stream-'));
  after(() => rm(root, { recursive: true, force: true }));
  const v = await fakeRelease('1.2.0', root);
  const store = new ReleaseStore(root);
  const name = 'reach-linux-x86_64';
  const body = v.bodies[name] ?? Buffer.alloc(0);

  test('sends the artifact whole, or from an offset (a resumed try)', async () => {
    const whole = await fetchOver(store, { version: '1.2.0', name, offset: 0 });
    assert.deepEqual(whole.answer, { ok: true, size: body.length, offset: 0 });
    assert.deepEqual(whole.body, body);
    const tail = await fetchOver(store, { version: '1.2.0', name, offset: 3 });
    assert.deepEqual(tail.body, body.subarray(3));
    const none = await fetchOver(store, { version: '1.2.0', name, offset: body.length });
    assert.equal(none.body.length, 0);
  });

  test('refuses what release.json does not list, an alias, a version not there, an offset past the end', async () => {
    for (const [request, code] of [
      [{ version: '1.2.0', name: 'reach.db', offset: 0 }, 'FILE_NOT_FOUND'],
      [{ version: '1.2.0', name: 'reach-windows.exe', offset: 0 }, 'FILE_NOT_FOUND'],
      [{ version: '9.9.9', name, offset: 0 }, 'FILE_NOT_FOUND'],
      [{ version: '1.2.0', name, offset: body.length + 1 }, 'INVALID_ARGUMENT'],
    ] as const) {
      const { answer } = await fetchOver(store, request);
      assert.equal(answer.ok, false, JSON.stringify(request));
      assert.equal(!answer.ok && answer.error, code, JSON.stringify(answer));
    }
  });

  test('a malformed request (a path for a name) is refused before anything is opened', async () => {
    const { answer } = await fetchOver(store, { version: '1.2.0', name: '../../etc/passwd', offset: 0 });
    assert.equal(answer.ok, false);
    assert.equal(!answer.ok && answer.error, 'TRANSFER_FAILED');
  });
});
