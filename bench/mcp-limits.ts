/**
 * `npm run bench:mcp-limits`: what MCP clients nobody here wrote accept at their default settings,
 * against a real reach-server (HTTP transports in-process) and client process on loopback. For
 * each client (the MCP TypeScript SDK, the official Python SDK from .ci/venv, the Inspector CLI)
 * and transport (Streamable HTTP, SSE) it prints, per size, whether a run_command result of that
 * many bytes arrived (max_output_bytes raised so the server does not cut it) and whether the
 * session still worked after; then the same for write_file requests of that many bytes. The
 * baseline row is Reach's default result cap (256 KiB), which every client must accept.
 *
 * Flags: --python PATH (.ci/venv/bin/python), --only typescript|python|inspector.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTransports } from '../packages/server/src/transports.ts';
import { startReach } from './lib/reach-under-test.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    python: { type: 'string', default: join(ROOT, '.ci/venv/bin/python') },
    only: { type: 'string' },
  },
});
const KiB = 1024;
const MiB = 1024 * KiB;
const RESULT_SIZES = [256 * KiB, 1 * MiB - 8 * KiB, 1 * MiB + 8 * KiB, 4 * MiB, 8 * MiB - 64 * KiB];
const WRITE_SIZES = [
  100 * KiB,
  1 * MiB,
  4 * MiB - 8 * KiB,
  4 * MiB + 8 * KiB,
  8 * MiB,
  10 * MiB - 64 * KiB,
  12 * MiB,
];
const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const fmt = (n: number) => (n % MiB === 0 ? `${n / MiB} MiB` : `${(n / KiB).toFixed(0)} KiB`);

type Transport = 'http' | 'sse';
type Probe = (transport: Transport, kind: 'result' | 'write', size: number) => Promise<string>;

const reach = await startReach({ serverArgs: ['--transport', 'http', '--port', '0'], startTransports });
const work = mkdtempSync(join(tmpdir(), 'reach-limits-'));
const url = (t: Transport) => `http://127.0.0.1:${reach.server.httpPort}${t === 'http' ? '/mcp' : '/sse'}`;
const resultArgs = (size: number) => ({
  cmd: `head -c ${size} /dev/zero | tr '\\0' a`,
  max_output_bytes: 8 * MiB,
});
const writeArgs = (size: number) => ({ path: join(work, 'w.txt'), content: 'a'.repeat(size) });

const tsSdk: Probe = async (transport, kind, size) => {
  const client = new Client({ name: 'limits', version: '1.0.0' });
  await client.connect(
    transport === 'http'
      ? new StreamableHTTPClientTransport(new URL(url(transport)))
      : new SSEClientTransport(new URL(url(transport))),
  );
  try {
    let first: string;
    try {
      const name = kind === 'result' ? 'run_command' : 'write_file';
      const r = await client.callTool({
        name,
        arguments: kind === 'result' ? resultArgs(size) : writeArgs(size),
      });
      const text = (r.content as { text: string }[])[0]?.text ?? '';
      first = r.isError ? `error: ${text.slice(0, 100)}` : 'ok';
    } catch (err) {
      first = `error: ${String(err).slice(0, 100)}`;
    }
    let after: string;
    try {
      await client.callTool({ name: 'list_clients', arguments: {} });
      after = 'session ok';
    } catch {
      after = 'session broken';
    }
    return `${first} | ${after}`;
  } finally {
    await client.close();
  }
};

const python: Probe = async (transport, kind, size) => {
  const script = join(ROOT, 'bench/lib/mcp_limits_probe.py');
  try {
    const { stdout } = await run(
      values.python,
      [script, transport, url(transport), kind, String(size), join(work, 'p.txt')],
      {
        timeout: 90_000,
      },
    );
    return stdout.trim();
  } catch (err) {
    return `probe failed: ${String((err as { stderr?: string }).stderr || err)
      .trim()
      .split('\n')
      .at(-1)}`;
  }
};

const inspector: Probe = async (transport, kind, size) => {
  // Its arguments travel on the command line: one is at most 128 KiB on Linux (MAX_ARG_STRLEN).
  if (kind === 'write' && size > 128 * KiB)
    return 'not possible: --tool-arg content=… is one argv entry (≤ 128 KiB)';
  // The Inspector resolves its own package.json against the working directory: run it from there.
  const cwd = join(ROOT, 'node_modules/@modelcontextprotocol/inspector-cli/build');
  const cli = join(cwd, 'index.js');
  const args = kind === 'result' ? resultArgs(size) : writeArgs(size);
  const toolArgs = Object.entries(args).flatMap(([k, v]) => ['--tool-arg', `${k}=${v}`]);
  try {
    const { stdout } = await run(
      process.execPath,
      [
        cli,
        url(transport),
        '--transport',
        transport,
        '--method',
        'tools/call',
        '--tool-name',
        kind === 'result' ? 'run_command' : 'write_file',
        ...toolArgs,
      ],
      { timeout: 90_000, maxBuffer: 64 * MiB, cwd },
    );
    const parsed = JSON.parse(stdout) as { isError?: boolean; content?: { text: string }[] };
    return parsed.isError ? `error: ${parsed.content?.[0]?.text.slice(0, 100)}` : 'ok | one call per process';
  } catch (err) {
    return `error: ${String((err as { stderr?: string }).stderr || err)
      .trim()
      .split('\n')
      .slice(-1)[0]
      ?.slice(0, 100)}`;
  }
};

const clients: [string, Probe][] = [
  ['TypeScript SDK', tsSdk],
  ['Python SDK', python],
  ['Inspector CLI', inspector],
];
try {
  log(`reach-server on 127.0.0.1:${reach.server.httpPort}; Reach's default result cap (baseline): 256 KiB`);
  for (const [name, probe] of clients) {
    if (values.only && !name.toLowerCase().startsWith(values.only)) continue;
    if (probe === python && !existsSync(values.python)) {
      log(`${name}: skipped (no ${values.python}; bash .ci/run creates it)`);
      continue;
    }
    for (const transport of ['http', 'sse'] as const) {
      for (const size of RESULT_SIZES)
        log(`${name} ${transport} result ${fmt(size)}: ${await probe(transport, 'result', size)}`);
      for (const size of WRITE_SIZES)
        log(`${name} ${transport} write_file ${fmt(size)}: ${await probe(transport, 'write', size)}`);
    }
  }
} finally {
  await reach.stop();
  rmSync(work, { recursive: true, force: true });
}
