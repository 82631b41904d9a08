import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import { createLogger } from '../log/logger.ts';
import { ActivityRecorder } from './activity.ts';
import type { CommandHistoryEntry } from './command-history.ts';
import { type LiveEvent, LiveEvents } from './live-events.ts';
import { defineTool } from './operation-definition.ts';
import type { OperationRecord } from './operation-record.ts';
import type { OperationServices } from './operation-services.ts';
import { Operations } from './operations.ts';

const log = createLogger('silent');
const session = { id: 's1', selectedClient: undefined };
const call = { caller: 'ui:s1', session, signal: new AbortController().signal };

function build(records: OperationRecord[]) {
  return new Operations({
    services: {} as OperationServices,
    definitions: [
      defineTool({
        name: 'echo',
        description: 'echoes',
        input: z.object({ text: z.string().max(5) }),
        handler: async ({ text }, ctx) => ({ text, caller: ctx.caller }),
      }),
      defineTool({
        name: 'fail',
        description: 'fails',
        input: z.object({}),
        handler: async () => {
          throw new ReachError('PATH_DENIED', 'no');
        },
      }),
    ],
    activity: { operation: (r) => records.push(r) },
    events: new LiveEvents(),
    log,
  });
}

test('invoke validates before work, passes the caller on, and records every outcome', async () => {
  const records: OperationRecord[] = [];
  const ops = build(records);
  assert.deepEqual(await ops.invoke('echo', { text: 'hi' }, call), {
    ok: true,
    value: { text: 'hi', caller: 'ui:s1' },
  });
  const bad = await ops.invoke('echo', { text: 'too long' }, call);
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, 'INVALID_ARGUMENT');
  const denied = await ops.invoke('fail', {}, call);
  assert.equal(!denied.ok && denied.error.code, 'PATH_DENIED');
  const unknown = await ops.invoke('nope', {}, call);
  assert.equal(!unknown.ok && unknown.error.code, 'INVALID_ARGUMENT');
  assert.deepEqual(
    records.map((r) => [r.tool, r.outcome, r.caller]),
    [
      ['echo', 'OK', 'ui:s1'],
      ['echo', 'INVALID_ARGUMENT', 'ui:s1'],
      ['fail', 'PATH_DENIED', 'ui:s1'],
      ['nope', 'INVALID_ARGUMENT', 'ui:s1'],
    ],
  );
  assert.deepEqual(records[1]?.args, { text: 'too long' }, 'invalid arguments are recorded as given');
  await assert.rejects(ops.call('fail', {}, call), (e: ReachError) => e.code === 'PATH_DENIED');
});

test('a finished command is audited, webhooked, published live and put in history; a job waits for its end', () => {
  const audits: unknown[] = [];
  const hooks: unknown[] = [];
  const live: LiveEvent[] = [];
  const history: CommandHistoryEntry[] = [];
  const events = new LiveEvents();
  events.subscribe((e) => live.push(e));
  const activity = new ActivityRecorder({
    audit: {
      record: (e) => {
        audits.push(e);
        return 1;
      },
    },
    webhooks: { enqueue: (e) => hooks.push(e) },
    store: { get: (uuid) => ({ uuid, display_name: 'lab' }) as never },
    events,
    history: { record: (e) => history.push(e) },
  });
  const base = { caller: 'http:key:abc', client: 'u1', outcome: 'OK', durationMs: 7 };
  activity.operation({ ...base, tool: 'run_command', args: { cmd: 'uname -a' }, result: { returncode: 0 } });
  activity.operation({
    ...base,
    tool: 'run_command',
    args: { cmd: 'sleep 99' },
    result: { job_id: 'job-1@u1' },
  });
  activity.operation({ ...base, tool: 'list_clients', args: {}, client: undefined, result: {} });
  assert.equal(audits.length, 3, 'every operation is audited');
  assert.equal(hooks.length, 1, 'only the finished command raises command_executed');
  assert.deepEqual(
    live.map((e) => [e.type, e.client?.display_name, e.data.cmd]),
    [['command_executed', 'lab', 'uname -a']],
  );
  assert.equal(history.length, 1);
  assert.deepEqual(
    { ...history[0], at_ms: 0 },
    {
      at_ms: 0,
      caller: 'http:key:abc',
      source: 'http',
      client_uuid: 'u1',
      cmd: 'uname -a',
      cwd: null,
      exit_code: 0,
      outcome: 'OK',
      duration_ms: 7,
    },
  );
});

test('a listener that throws does not keep the event from the others', () => {
  const errors: unknown[] = [];
  const events = new LiveEvents((e) => errors.push(e));
  const got: string[] = [];
  events.subscribe(() => {
    throw new Error('boom');
  });
  const off = events.subscribe((e) => got.push(e.type));
  events.publish({ type: 'client.connected', at: '', data: {} });
  off();
  events.publish({ type: 'client.disconnected', at: '', data: {} });
  assert.deepEqual(got, ['client.connected']);
  assert.equal(errors.length, 2);
  assert.equal(events.listenerCount, 1);
});
