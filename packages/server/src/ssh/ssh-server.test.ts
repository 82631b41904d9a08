import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LINK, parseRetryHint } from '@reach/protocol';
import { pino } from 'pino';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../../../../test-support/ed25519-key-pair.ts';
import { AuthorizedKeys } from './authorized-keys.ts';
import { type SshLink, SshServer } from './ssh-server.ts';

const silent = pino({ level: 'silent' });

function closed(socket: Socket): Promise<void> {
  socket.on('error', () => {}); // ECONNRESET when the server drops it
  socket.resume(); // a paused socket never reads the EOF, so it would never close
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

describe('SshServer', () => {
  let dir: string;
  let server: SshServer;
  const links: SshLink[] = [];
  const key = ed25519KeyPair();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-ssh-'));
    await writeFile(join(dir, 'authorized_keys'), `${key.public}\n`);
    server = new SshServer({
      host: '127.0.0.1',
      port: 0,
      hostKey: ed25519KeyPair().private,
      authorizedKeys: new AuthorizedKeys(join(dir, 'authorized_keys'), silent),
      log: silent,
      admission: { start: 2, rate: 100, full: 2, perSource: 1 },
      bannerTimeoutMs: 300,
      authTimeoutMs: 1500,
      retryAfterMs: () => 4321,
      onLink: (link) => links.push(link),
      onControl: () => {},
    });
    await server.listen();
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('past the per-source cap new connections are dropped; silent ones time out', {
    timeout: 20_000,
  }, async () => {
    const idle = tcpConnect(server.port, '127.0.0.1');
    const idleClosed = closed(idle);
    await new Promise((r) => idle.once('connect', r));
    await new Promise((r) => setTimeout(r, 100));
    const extra = tcpConnect(server.port, '127.0.0.1');
    let said = '';
    extra.on('data', (c: Buffer) => {
      said += c.toString('latin1');
    });
    await closed(extra); // dropped at once: this address's one slot is taken
    // ...with a line before any SSH identification saying when to come back.
    assert.equal(parseRetryHint(said), 4321, JSON.stringify(said));
    assert.ok(!said.includes('SSH-'), 'no SSH identification was sent');
    await idleClosed; // the banner timeout ends the silent one
  });

  test('a socket that sent its identification keeps its slot past the banner timeout', {
    timeout: 20_000,
  }, async () => {
    const speaking = tcpConnect(server.port, '127.0.0.1');
    await new Promise((r) => speaking.once('connect', r));
    speaking.write('SSH-2.0-probe\r\n');
    const speakingClosed = closed(speaking);
    let speakingDone = false;
    void speakingClosed.then(() => {
      speakingDone = true;
    });
    // A silent socket from another address takes the second slot and is ended by the banner
    // timeout (300 ms) while the one that spoke keeps its slot until the auth timeout (1500 ms).
    await closed(tcpConnect(server.port, '127.0.0.2'));
    assert.equal(speakingDone, false, 'the socket that spoke SSH is still open');
    await speakingClosed; // the auth timeout ends it
  });

  test('only the virtual agent forward is accepted; sessions serve no shell or exec', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', reject);
      client.connect({ host: '127.0.0.1', port: server.port, username: 'reach', privateKey: key.private });
    });
    try {
      await assert.rejects(
        new Promise((resolve, reject) =>
          client.forwardIn('0.0.0.0', 8080, (err, port) => (err ? reject(err) : resolve(port))),
        ),
      );
      await new Promise<void>((resolve, reject) =>
        client.forwardIn(LINK.agentBindAddr, LINK.agentBindPort, (err) => (err ? reject(err) : resolve())),
      );
      assert.equal(links.length, 1);
      assert.match(links[0]?.fingerprint ?? '', /^SHA256:/);
      assert.equal(links[0]?.username, 'reach');
      await assert.rejects(
        new Promise((resolve, reject) => client.exec('id', (err, ch) => (err ? reject(err) : resolve(ch)))),
      );
      await assert.rejects(
        new Promise((resolve, reject) =>
          client.subsys('sftp', (err, ch) => (err ? reject(err) : resolve(ch))),
        ),
      );
      await assert.rejects(
        new Promise((resolve, reject) =>
          client.forwardOut('127.0.0.1', 0, '127.0.0.1', 22, (err, ch) => (err ? reject(err) : resolve(ch))),
        ),
      );
    } finally {
      client.end();
    }
  });
});
