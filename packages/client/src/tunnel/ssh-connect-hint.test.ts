import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ReachError, retryHintLine } from '@reach/protocol';
import { pino } from 'pino';
import { ed25519KeyPair } from '../../../../test-support/ed25519-key-pair.ts';
import { connectSsh } from './ssh-connect.ts';

/** The error connectSsh gives against a loopback server that treats each socket with `refuse`. */
async function refusedBy(refuse: (s: Socket) => void): Promise<ReachError> {
  const dir = await mkdtemp(join(tmpdir(), 'reach-hint-'));
  const server = createServer(refuse);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    return (await connectSsh({
      host: '127.0.0.1',
      port,
      username: 'reach',
      privateKey: ed25519KeyPair().private,
      knownHostsPath: join(dir, 'known_hosts'),
      log: pino({ level: 'silent' }),
    }).then(
      () => assert.fail('connected'),
      (e: unknown) => e,
    )) as ReachError;
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a server that turns the connection away with a hint: the error carries retry_after_ms', async () => {
  const err = await refusedBy((s) => s.end(retryHintLine(2345)));
  assert.equal(err.code, 'SSH_CONNECTION_FAILED');
  assert.equal(err.details?.retry_after_ms, 2345);
  assert.match(err.message, /busy/);
});

test('a server that closes without a hint: a plain connection failure', async () => {
  const err = await refusedBy((s) => s.destroy());
  assert.equal(err.code, 'SSH_CONNECTION_FAILED');
  assert.equal(err.details?.retry_after_ms, undefined);
});
