import { type ChildProcess, spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLIENT_BIN, eventually, LogWatch, NODE, type ServerProcess } from './harness.ts';
import { ok } from './mcp-client.ts';

/** An official MCP SDK client on `server`'s Streamable HTTP endpoint (default request timeout). */
export async function sdkClient(server: { httpPort: number }, apiKey: string): Promise<Client> {
  const client = new Client({ name: 'reach-jobs-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  await client.connect(transport);
  return client;
}

/** `reach` again in an existing home (same UUID and key): a client restart. */
export function restartClient(home: string, sshPort: number): { proc: ChildProcess; logs: LogWatch } {
  const proc = spawn(NODE, [CLIENT_BIN, '-s', '127.0.0.1', '-p', String(sshPort)], {
    env: { ...process.env, REACH_HOME: home, REACH_RECONNECT_DELAY: '0.2' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { proc, logs: new LogWatch(proc.stderr!) };
}

/** Until list_clients shows `uuid` online on `server`. */
export async function online(mcp: Client, uuid: string): Promise<void> {
  await eventually(async () => {
    const list = await ok(mcp, 'list_clients');
    return (list.clients as { uuid: string; online: boolean }[]).some((c) => c.uuid === uuid && c.online)
      ? true
      : undefined;
  }, 30_000);
}

/** SIGKILL and wait for the exit. */
export async function kill9(proc: ChildProcess | ServerProcess['proc']): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

/** job_wait until the job has ended, collecting both streams by their offsets. */
export async function waitOut(mcp: Client, jobId: string) {
  let stdout = '';
  let stderr = '';
  let so = 0;
  let se = 0;
  let calls = 0;
  for (;;) {
    calls += 1;
    const r = await ok(mcp, 'job_wait', { job_id: jobId, timeout: 50, stdout_offset: so, stderr_offset: se });
    stdout += r.stdout;
    stderr += r.stderr;
    so = r.stdout_next_offset;
    se = r.stderr_next_offset;
    if (r.status !== 'running' && !r.more) return { last: r, stdout, stderr, calls };
  }
}

/** Live members of a process group (zombies excluded: a container's init may never reap them). */
export async function groupAlive(pgid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] !== 'Z' && Number(f[2]) === pgid) pids.push(Number(name));
  }
  return pids;
}
