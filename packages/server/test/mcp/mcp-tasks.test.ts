/**
 * MCP Tasks (#19) end to end: a real reach-server and two `reach` processes over loopback, the
 * official TypeScript SDK client's experimental task API (1.32.2). run_command and run_on_clients
 * run as tasks mapped onto jobs: the task id is the job id, tasks/get follows job_status,
 * tasks/result answers what the call would have, tasks/cancel stops the job's process group.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type CallToolResult,
  CallToolResultSchema,
  CreateTaskResultSchema,
  type McpError,
} from '@modelcontextprotocol/sdk/types.js';
import {
  type ClientProcess,
  eventually,
  NODE,
  ROOT,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './harness.ts';
import { groupAlive, online, sdkClient } from './jobs-fixture.ts';
import { ok } from './mcp-client.ts';

const API_KEY = 'tasks-test-api-key-5b2e81';
const run = promisify(execFile);
const PYTHON = process.env.REACH_TEST_PYTHON ?? join(ROOT, '.ci/venv/bin/python');
// CI installs the Python SDK (.ci/run); elsewhere that one test says how to get it instead of failing.
const noPython = existsSync(PYTHON)
  ? false
  : `no Python with the mcp SDK at ${PYTHON} (bash .ci/run sets it up)`;

const body = (r: { content?: unknown }) =>
  JSON.parse((r.content as { type: string; text: string }[])[0]!.text) as Record<string, any>;

describe('MCP tasks: run_command and run_on_clients as tasks over jobs', () => {
  let server: ServerProcess;
  const clients: ClientProcess[] = [];
  let mcp: Client;

  /** tools/call with `params.task`: the CreateTaskResult, at once. */
  const createTask = (name: string, args: Record<string, unknown>) =>
    mcp.request(
      { method: 'tools/call', params: { name, arguments: args, task: { ttl: 60_000 } } },
      CreateTaskResultSchema,
    );

  before(async () => {
    server = await startHttpServer({ apiKey: API_KEY });
    mcp = await sdkClient(server, API_KEY);
    for (const name of ['task-a', 'task-b']) {
      clients.push(await startClient(server, { displayName: name, env: { REACH_TAGS: 'tasks' } }));
    }
    for (const c of clients) await online(mcp, c.uuid);
  });
  after(async () => {
    await mcp?.close();
    for (const c of clients) await c.stop('SIGKILL').catch(() => undefined);
    await server?.stop();
  });

  test('the server offers tasks for tools/call only, and the two tools as optional', async () => {
    assert.deepEqual(mcp.getServerCapabilities()?.tasks, { cancel: {}, requests: { tools: { call: {} } } });
    const { tools } = await mcp.listTools();
    const tasked = tools.filter((t) => t.execution?.taskSupport !== undefined);
    assert.deepEqual(
      tasked.map((t) => [t.name, t.execution?.taskSupport]),
      [
        ['run_command', 'optional'],
        ['run_on_clients', 'optional'],
      ],
    );
  });

  test('a 5 s command as a task: created at once, polled to completed, full output and exit code', async () => {
    const cmd = 'for i in 1 2 3 4 5; do echo line $i; sleep 1; done; echo oops >&2; exit 7';
    const seen: string[] = [];
    let taskId = '';
    let result: CallToolResult | undefined;
    // No task option: once tools/list has shown taskSupport, callToolStream asks for a task itself.
    await mcp.listTools();
    for await (const m of mcp.experimental.tasks.callToolStream({
      name: 'run_command',
      arguments: { cmd, client_id: clients[0]!.uuid },
    })) {
      if (m.type === 'taskCreated') {
        taskId = m.task.taskId;
        seen.push(m.task.status);
        // Created while the command still runs: the job it maps onto is running.
        const job = await ok(mcp, 'job_status', { job_id: taskId });
        assert.equal(job.status, 'running');
        assert.equal(job.cmd, cmd);
      } else if (m.type === 'taskStatus') seen.push(m.task.status);
      else if (m.type === 'result') result = m.result as CallToolResult;
      else assert.fail(`stream error: ${m.error}`);
    }
    assert.match(taskId, new RegExp(`^job-[0-9a-f]{16}@${clients[0]!.uuid}$`));
    assert.equal(seen[0], 'working');
    assert.ok(seen.includes('working') && seen.at(-1) === 'completed', seen.join(' '));
    assert.ok(result);
    assert.notEqual(result.isError, true);
    const r = body(result);
    assert.equal(r.stdout, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(r.returncode, 7);
    assert.equal(r.truncated, false);
    assert.equal(r.job_id, taskId);
    assert.equal(result._meta?.['io.modelcontextprotocol/related-task']?.taskId, taskId);
    const task = await mcp.experimental.tasks.getTask(taskId);
    assert.equal(task.status, 'completed');
    assert.equal(task.statusMessage, 'exited with 7');
  });

  // getTaskResult's schema is passed: 1.32.2 throws "reading '_zod'" on the answer without one.
  test('tasks/result blocks until the job ends', async () => {
    const { task } = await createTask('run_command', {
      cmd: 'sleep 2; echo done',
      client_id: clients[1]!.uuid,
    });
    assert.equal(task.status, 'working');
    const r = body(await mcp.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema));
    assert.deepEqual([r.stdout, r.returncode], ['done\n', 0]);
    assert.equal((await mcp.experimental.tasks.getTask(task.taskId)).status, 'completed');
  });

  test("tasks/cancel stops the job's whole process group", async () => {
    const { task } = await createTask('run_command', {
      cmd: `sh -c 'trap "" INT TERM; sleep 60' & sleep 60`,
      client_id: clients[0]!.uuid,
    });
    const [job] = task.taskId.split('@');
    const rec = JSON.parse(readFileSync(join(clients[0]!.home, 'jobs', job ?? '', 'job.json'), 'utf8'));
    await eventually(async () => ((await groupAlive(rec.pgid)).length >= 2 ? true : undefined));
    assert.equal((await mcp.experimental.tasks.getTask(task.taskId)).status, 'working');
    const cancelled = await mcp.experimental.tasks.cancelTask(task.taskId);
    assert.equal(cancelled.status, 'cancelled');
    assert.deepEqual(await groupAlive(rec.pgid), []);
    assert.equal((await ok(mcp, 'job_status', { job_id: task.taskId })).status, 'cancelled');
    // The cancel is in the audit trail as a job_cancel of that job.
    const audit = await ok(mcp, 'get_audit_log', { tool: 'job_cancel' });
    assert.ok(JSON.stringify(audit.entries).includes(task.taskId), JSON.stringify(audit).slice(0, 600));
    const r = await mcp.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    assert.equal(r.isError, true);
    assert.equal(body(r).error, 'CANCELLED');
    // A task in a terminal status cannot be cancelled again (spec: -32602).
    await assert.rejects(mcp.experimental.tasks.cancelTask(task.taskId), (e: McpError) => e.code === -32602);
  });

  test('run_on_clients as a task: the fan-out, grouped, as its call would answer', async () => {
    const { task } = await createTask('run_on_clients', {
      cmd: 'sleep 1; echo hi',
      target: { tags: ['tasks'] },
    });
    assert.match(task.taskId, /^fan-[0-9a-f]{16}$/);
    assert.equal(task.ttl, 3_600_000);
    const r = body(await mcp.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema));
    assert.equal(r.job_id, task.taskId);
    assert.equal(r.status, 'done');
    assert.deepEqual(
      [r.counts.ok, r.groups.length, r.groups[0].count, r.groups[0].stdout],
      [2, 1, 2, 'hi\n'],
    );
    const done = await mcp.experimental.tasks.getTask(task.taskId);
    assert.deepEqual([done.status, done.statusMessage], ['completed', r.recap]);
  });

  test('run_on_clients as a task, cancelled', async () => {
    const { task } = await createTask('run_on_clients', {
      cmd: 'sleep 60',
      target: { tags: ['tasks'] },
      wait: 0,
    });
    await eventually(async () => {
      const f = await ok(mcp, 'job_status', { job_id: task.taskId });
      return f.rows.every((row: { job_id?: string }) => row.job_id !== undefined) ? true : undefined;
    });
    assert.equal((await mcp.experimental.tasks.cancelTask(task.taskId)).status, 'cancelled');
    const r = body(await mcp.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema));
    assert.equal(r.counts.cancelled, 2, JSON.stringify(r.counts));
  });

  test('tools that cannot run as tasks, bad arguments and unknown tasks are JSON-RPC errors', async () => {
    await assert.rejects(createTask('list_clients', {}), (e: McpError) => e.code === -32601);
    await assert.rejects(createTask('run_command', { cmd: '' }), (e: McpError) => e.code === -32602);
    await assert.rejects(
      mcp.experimental.tasks.getTask(`job-0000000000000000@${clients[0]!.uuid}`),
      (e: McpError) => e.code === -32602,
    );
    await assert.rejects(mcp.experimental.tasks.getTask('nope'), (e: McpError) => e.code === -32602);
    // The same call without a task answers as before.
    const plain = await ok(mcp, 'run_command', { cmd: 'echo plain', client_id: clients[0]!.uuid });
    assert.deepEqual([plain.stdout, plain.returncode], ['plain\n', 0]);
  });

  // What the README's table says of other clients, measured against this server.
  test('the MCP Python SDK 2.3.0 sees the capability but its ClientSession has no task API', {
    skip: noPython && !process.env.CI ? noPython : false,
  }, async () => {
    const script = join(import.meta.dirname, 'python/tasks_probe.py');
    const { stdout } = await run(PYTHON, [script, `http://127.0.0.1:${server.httpPort}/mcp`, API_KEY], {
      timeout: 60_000,
    });
    const found = JSON.parse(stdout);
    assert.deepEqual(found, {
      protocol_version: '2025-11-25',
      server_tasks_capability: { cancel: {}, requests: { tools: { call: {} } } },
      run_command_task_support: 'optional',
      session_task_methods: [],
      call_tool_task_param: false,
      known_task_methods: [],
    });
  });

  test('the MCP Inspector CLI 1.0.3 offers no task methods', async () => {
    const cwd = join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build');
    const url = `http://127.0.0.1:${server.httpPort}/mcp`;
    const auth = ['--transport', 'http', '--header', `Authorization: Bearer ${API_KEY}`];
    const r = await run(NODE, [join(cwd, 'index.js'), url, ...auth, '--method', 'tasks/get'], { cwd }).then(
      () => assert.fail('tasks/get was accepted'),
      (e: { stderr: string; stdout: string }) => `${e.stdout}${e.stderr}`,
    );
    assert.match(r, /Unsupported method: tasks\/get/);
  });
});
