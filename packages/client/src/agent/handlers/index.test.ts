import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { AGENT_METHODS, EXCHANGE_METHODS, type RpcPeer, SSH_SESSION_METHODS } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import { createLogger } from '../../log/logger.ts';
import { OutputStore } from '../../output-store/output-store.ts';
import { PathPolicy } from '../path-policy.ts';
import { type CoreAgentMethod, createAgentHandlers } from './index.ts';

/** The server side of an in-memory stream link to an agent built by createAgentHandlers. */
function link(handlers: ReturnType<typeof createAgentHandlers>) {
  const [agentEnd, serverEnd] = duplexPair();
  peerOverStream(agentEnd, { handlers });
  return peerOverStream(serverEnd);
}

describe('createAgentHandlers over RPC', () => {
  let dir = '';
  let server: RpcPeer;
  let detections = 0;
  const uuid = '6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f';
  before(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'reach-agent-')));
    await writeFile(join(dir, 'f.txt'), 'hello');
    let clock = 1_000_000;
    const handlers = createAgentHandlers({
      identity: { uuid, client_id: 'box-1', display_name: 'Box', purpose: 'tests', tags: ['t'] },
      version: '0.1.0',
      policy: new PathPolicy([dir]),
      log: createLogger('silent'),
      baseEnv: { PATH: process.env.PATH },
      defaultCwd: dir,
      outputs: new OutputStore({ dir: join(dir, 'outputs') }),
      capabilities: ['git'],
      detectCapabilities: async () => {
        detections += 1;
        return ['docker', 'git'];
      },
      now: () => (clock += 5000),
    });
    const core = Object.keys(AGENT_METHODS).filter((m) => !Object.hasOwn(SSH_SESSION_METHODS, m));
    assert.deepEqual([...handlers.keys()].sort(), [...core, ...Object.keys(EXCHANGE_METHODS)].sort());
    server = link(handlers);
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const call = async (method: CoreAgentMethod, params: unknown) => {
    const result = await server.call(method, params);
    // What the server will do on receipt: validate with the shared schema.
    return AGENT_METHODS[method].result.parse(result) as unknown;
  };

  test('every method answers with a result its schema accepts', async () => {
    const hello = await call('hello', { server_version: '0.1.0' });
    assert.equal((hello as { uuid: string }).uuid, uuid);
    assert.deepEqual((hello as { allowed_paths: string[] }).allowed_paths, [dir]);
    assert.deepEqual((hello as { capabilities: string[] }).capabilities, ['git']);
    const hb = (await call('heartbeat', {})) as { ts: number; uptime_s: number };
    assert.equal(hb.uptime_s, 5);
    await call('run_command', { cmd: 'echo hi' });
    await call('read_file', { path: join(dir, 'f.txt') });
    await call('write_file', { path: join(dir, 'g.txt'), content: 'x' });
    await call('list_files', { path: dir });
    await call('get_metrics', { summary: true });
    await call('get_metrics', {});
    assert.deepEqual(await call('capabilities', {}), { capabilities: ['docker', 'git'] });
    assert.equal(detections, 1);
    const again = (await call('hello', {})) as { capabilities: string[] };
    assert.deepEqual(again.capabilities, ['docker', 'git']);
  });

  test('typed errors cross the link with their codes', async () => {
    await assert.rejects(server.call('read_file', { path: '/etc/hostname' }), { code: 'PATH_DENIED' });
    await assert.rejects(server.call('read_file', { path: join(dir, 'nope') }), { code: 'FILE_NOT_FOUND' });
    await assert.rejects(server.call('read_file', { path: 'relative' }), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(
      server.call('run_command', { cmd: 'sleep 5', timeout: 1 }),
      (err: Error & { code: string; details: { timeout: number } }) => {
        assert.equal(err.code, 'COMMAND_TIMEOUT');
        assert.equal(err.details.timeout, 1);
        return true;
      },
    );
  });

  test("set_policy narrows the client's own allowed paths, never widens them", async () => {
    const wide = await call('set_policy', { allowed_paths: ['/'] });
    assert.deepEqual(wide, { allowed_paths: [dir] });
    await assert.rejects(server.call('list_files', { path: '/etc' }), { code: 'PATH_DENIED' });
    const beside = await call('set_policy', { allowed_paths: ['/etc'] });
    assert.deepEqual(beside, { allowed_paths: [] });
    await assert.rejects(server.call('list_files', { path: '/etc' }), { code: 'PATH_DENIED' });
    await assert.rejects(server.call('list_files', { path: dir }), { code: 'PATH_DENIED' });
    await call('set_policy', { allowed_paths: [] });
    await call('list_files', { path: dir });
  });

  test('a cancelled call kills its command', async () => {
    const ac = new AbortController();
    const marker = join(dir, 'survived');
    const p = server.call('run_command', { cmd: `sleep 2 && touch ${marker}` }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 200);
    await assert.rejects(p, { code: 'CANCELLED' });
    await new Promise((r) => setTimeout(r, 2500));
    await assert.rejects(realpath(marker), { code: 'ENOENT' });
  });
});
