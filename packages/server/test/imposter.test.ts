/**
 * Imposter displacement over real loopback SSH: a live client (the real tunnel) serves a stream of
 * calls while another authorized key claims its UUID in a loop, answering `set_policy` late (the
 * first time only once the victim is online again) and reconnecting every few hundred ms. The
 * victim must see zero failed calls; key-mismatch writes and events stay bounded.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type HelloResult, LINK, type RpcHandler, SetPolicyParams } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import ssh2 from 'ssh2';
import {
  type ClientKey,
  fakeAgent,
  newClientKey,
  startTestServer,
  type TestServer,
  tempDir,
  tunnelTo,
  waitFor,
} from './link-harness.ts';

/**
 * One imposter connection: claims `hello` as `uuid` with `key`, answers set_policy once `gate`
 * resolves, and resolves when the connection is gone (the server closes it, or `holdMs` after
 * the set_policy reply).
 */
function imposter(
  port: number,
  key: ClientKey,
  hello: HelloResult,
  gate: () => Promise<void>,
  holdMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    const conn = new ssh2.Client();
    const done = (): void => {
      conn.end();
      resolve();
    };
    conn.on('tcp connection', (info, accept, reject) => {
      if (info.destIP !== LINK.agentBindAddr) return reject();
      const stream = accept();
      peerOverStream(stream, {
        handlers: new Map<string, RpcHandler>([
          ['hello', async () => hello],
          [
            'set_policy',
            async (params) => {
              await gate();
              setTimeout(done, holdMs);
              return { allowed_paths: SetPolicyParams.parse(params).allowed_paths };
            },
          ],
          ['heartbeat', async () => ({ ts: Date.now(), uptime_s: 1 })],
          [
            'run_command',
            async () => ({ stdout: 'imposter', stderr: '', returncode: 0, duration_ms: 0, truncated: false }),
          ],
        ]),
      });
    });
    conn.on('ready', () => conn.forwardIn(LINK.agentBindAddr, LINK.agentBindPort, () => {}));
    conn.on('error', done);
    conn.on('close', done);
    conn.connect({
      host: '127.0.0.1',
      port,
      username: 'reach',
      privateKey: key.privateKey,
      hostVerifier: () => true,
      keepaliveInterval: 0,
    });
  });
}

describe('imposter displacement', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let ts: TestServer;

  before(async () => {
    dir = await tempDir('reach-imposter-');
    ts = await startTestServer(join(dir.path, 'server'));
  });
  after(async () => {
    await ts?.close();
    await dir?.remove();
  });

  test('an imposter key looping on a live client UUID fails none of its calls', {
    timeout: 60_000,
  }, async () => {
    const { registry, clients } = ts.server.services;
    const victimKey = await newClientKey(ts.dataDir);
    const imposterKey = await newClientKey(ts.dataDir);
    const agent = fakeAgent(undefined, 'victim');
    const ctx = { signal: new AbortController().signal, id: 0, method: 'hello' } as Parameters<RpcHandler>[1];
    const hello = (await agent.handlers.get('hello')?.({}, ctx)) as HelloResult;

    // The victim registers once, so its UUID is bound to its key, then goes away.
    const first = tunnelTo(ts, victimKey, agent, join(dir.path, 'known_hosts'));
    first.tunnel.start().catch(() => {});
    await waitFor(() => registry.get(agent.uuid), 10_000, 'victim registered');
    await first.tunnel.close();
    await waitFor(() => !registry.get(agent.uuid), 10_000, 'victim offline');

    const mismatches: string[] = [];
    clients.on('key_mismatch', (e) => mismatches.push(e.fingerprint));
    const victimOnline = (): boolean => {
      const c = registry.get(agent.uuid);
      return c !== undefined && !c.quarantined && !c.link.closed;
    };
    // The first imposter passes the "is the trusted key online?" check while the victim is away
    // and answers set_policy only once the victim is back: only the insertion can refuse it.
    let earlyAtPolicy = false;
    const early = imposter(
      ts.server.sshPort,
      imposterKey,
      hello,
      async () => {
        earlyAtPolicy = true;
        await waitFor(() => victimOnline(), 20_000, 'victim back');
      },
      200,
    );
    await waitFor(() => earlyAtPolicy, 10_000, 'the early imposter past the check, at set_policy');

    const victim = tunnelTo(ts, victimKey, agent, join(dir.path, 'known_hosts'));
    victim.tunnel.start().catch(() => {});
    await waitFor(() => victimOnline(), 10_000, 'victim online');

    let stop = false;
    const attackRounds: Promise<void>[] = [early];
    const attack = (async () => {
      while (!stop) {
        // Answer set_policy 250 ms late, hold 100 ms, reconnect after 300 ms: overlapping claims.
        attackRounds.push(
          imposter(ts.server.sshPort, imposterKey, hello, () => new Promise((r) => setTimeout(r, 250)), 100),
        );
        await new Promise((r) => setTimeout(r, 300));
      }
    })();

    let ok = 0;
    const failures: string[] = [];
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      try {
        const r = await clients.call(agent.uuid, 'run_command', { cmd: `call ${ok}` });
        assert.equal(r.stdout, `call ${ok}`, 'answered by the victim');
        ok++;
      } catch (err) {
        failures.push(`${(err as { code?: string }).code}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    stop = true;
    await attack;
    await Promise.all(attackRounds);
    await victim.tunnel.close();
    console.log(
      `victim calls: ${ok} ok, ${failures.length} failed; imposter connections ${attackRounds.length}, ` +
        `key_mismatch events ${mismatches.length}`,
    );

    assert.deepEqual(failures, []);
    assert.ok(ok > 50, `${ok} calls`);
    assert.ok(attackRounds.length > 10, 'the attack ran');
    // 5 claims at once, then 2 a minute (main.ts): the loop cannot rewrite the pending key or fire
    // the webhook more often than that.
    assert.ok(mismatches.length <= 6, `${mismatches.length} key_mismatch events`);
    assert.ok(
      ts.lines.some((l) => l.msg === 'not put online: the trusted key is online'),
      'the early imposter was refused at insertion',
    );
    // The victim's going away is logged once: who, why, after how long.
    const disconnects = (): Array<Record<string, unknown>> =>
      ts.lines.filter((l) => l.msg === 'client disconnected' && l.clientId === agent.uuid && !l.quarantined);
    await waitFor(() => disconnects().length >= 2, 10_000, 'the second disconnect logged');
    const gone = disconnects().at(-1);
    assert.equal(gone?.display_name, 'victim');
    assert.equal(gone?.reason, 'link closed');
    assert.ok(typeof gone?.duration_s === 'number' && gone.duration_s >= 0);
  });
});
