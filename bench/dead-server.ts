/**
 * `npm run bench:dead-server`: what an MCP caller sees when reach-server is SIGKILLed in the middle
 * of a `tools/call run_command "sleep 30"`, for each way of calling: the TypeScript SDK client with
 * no progress token (answered as plain JSON), the same with `onprogress` (answered as SSE), and —
 * with `--python PY` naming a Python that has the `mcp` package — the Python SDK client both ways.
 * Prints, per case, how long after the kill the call ended and how (its error), beside the SDK
 * timeout it would otherwise have waited for.
 *
 * Flags: --timeout S (SDK request timeout, 15), --python PATH.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  type ClientProcess,
  eventually,
  type ServerProcess,
  startClient,
  startHttpServer,
} from '../packages/server/test/mcp/harness.ts';

const { values } = parseArgs({
  options: { timeout: { type: 'string', default: '15' }, python: { type: 'string' } },
});
const timeoutS = Number(values.timeout);
const API_KEY = 'bench-dead-server-key';
const work = mkdtempSync(join(tmpdir(), 'reach-bench-dead-'));

const PY_CALLER = `
import asyncio, sys, time
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
url, key, uuid, pidfile, progress, timeout = sys.argv[1:7]
async def main():
    http = create_mcp_http_client(headers={"Authorization": "Bearer " + key})
    async with streamable_http_client(url, http_client=http) as (r, w):
        async with ClientSession(r, w) as s:
            await s.initialize()
            cb = (lambda p, t, m: None) if progress == "1" else None
            try:
                res = await s.call_tool("run_command", {"client_id": uuid, "cmd": "echo $$ > " + pidfile + "; sleep 30", "timeout": 60},
                                        read_timeout_seconds=float(timeout), progress_callback=cb)
                print("END answered", flush=True)
            except BaseException as e:
                print("END " + type(e).__name__ + ": " + str(e)[:120].replace("\\n", " "), flush=True)
asyncio.run(main())
`;

interface Outcome {
  caller: string;
  endedMs: number;
  how: string;
}

async function withServer(run: (server: ServerProcess, agent: ClientProcess) => Promise<Outcome>) {
  const server = await startHttpServer({ apiKey: API_KEY });
  const agent = await startClient(server, { displayName: 'bench-victim' });
  try {
    const mcp = await connectTs(server);
    await eventually(async () => {
      const r = await mcp.callTool({ name: 'list_clients', arguments: {} });
      const text = (r.content as Array<{ text: string }>)[0]?.text ?? '{}';
      return JSON.parse(text).online_count === 1 ? true : undefined;
    });
    await mcp.close();
    return await run(server, agent);
  } finally {
    await agent.stop();
    await server.stop();
  }
}

async function connectTs(server: ServerProcess): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
    }),
  );
  return client;
}

async function killWhenRunning(server: ServerProcess, pidFile: string): Promise<number> {
  await eventually(async () => (existsSync(pidFile) ? true : undefined));
  server.proc.kill('SIGKILL');
  return performance.now();
}

const tsCase = (progress: boolean) => (server: ServerProcess, agent: ClientProcess) =>
  (async (): Promise<Outcome> => {
    const mcp = await connectTs(server);
    const pidFile = join(work, `ts-${progress}.pid`);
    let ended = 0;
    const call = mcp
      .callTool(
        {
          name: 'run_command',
          arguments: { client_id: agent.uuid, cmd: `echo $$ > ${pidFile}; sleep 30`, timeout: 60 },
        },
        undefined,
        { timeout: timeoutS * 1000, ...(progress ? { onprogress: () => {} } : {}) },
      )
      .then(
        () => 'answered',
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      )
      .finally(() => {
        ended = performance.now();
      });
    const killed = await killWhenRunning(server, pidFile);
    const how = await call;
    await mcp.close().catch(() => {});
    return {
      caller: `TypeScript SDK, ${progress ? 'onprogress (SSE)' : 'no progress token (JSON)'}`,
      endedMs: ended - killed,
      how,
    };
  })();

const pyCase = (python: string, progress: boolean) => (server: ServerProcess, agent: ClientProcess) =>
  new Promise<Outcome>((resolve, reject) => {
    const pidFile = join(work, `py-${progress}.pid`);
    let killed = 0;
    const child = execFile(
      python,
      [
        '-c',
        PY_CALLER,
        `http://127.0.0.1:${server.httpPort}/mcp`,
        API_KEY,
        agent.uuid,
        pidFile,
        progress ? '1' : '0',
        String(timeoutS),
      ],
      { timeout: (timeoutS + 30) * 1000 },
      (err, stdout) => {
        const ended = performance.now();
        const line =
          stdout.split('\n').find((l) => l.startsWith('END ')) ?? `no result (${err?.message ?? 'exited'})`;
        resolve({
          caller: `Python SDK, ${progress ? 'progress_callback (SSE)' : 'no progress token (JSON)'}`,
          endedMs: ended - killed,
          how: line.replace(/^END /, ''),
        });
      },
    );
    killWhenRunning(server, pidFile).then((t) => {
      killed = t;
    }, reject);
    void child;
  });

const cases = [tsCase(false), tsCase(true)];
if (values.python) cases.push(pyCase(values.python, false), pyCase(values.python, true));
const rows: Outcome[] = [];
for (const c of cases) rows.push(await withServer(c));
rmSync(work, { recursive: true, force: true });
process.stdout.write(
  `server SIGKILLed mid-call; SDK request timeout ${timeoutS} s (the baseline: what a stalled call waits)\n`,
);
for (const r of rows) {
  process.stdout.write(
    `${r.caller.padEnd(46)} ended ${(r.endedMs / 1000).toFixed(2).padStart(6)} s after the kill: ${r.how}\n`,
  );
}
