import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  sshPort: number;
  httpPort: number;
  hostKeyFingerprint: string;
  stop(): Promise<void>;
}

/**
 * Starts `reach-server --transport http` on loopback and waits until it listens: on ephemeral
 * ports, or on `ports` (so a server restarted on the same ports is found again by a running client).
 */
export async function startServerProcess(
  dataDir: string,
  apiKey: string,
  ports: { ssh: number; http: number } = { ssh: 0, http: 0 },
  extraArgs: readonly string[] = [],
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      join(REPO, 'packages/server/src/bin.ts'),
      ...['--transport', 'http', '--host', '127.0.0.1', '--port', String(ports.http)],
      ...['--ssh-host', '127.0.0.1', '--ssh-port', String(ports.ssh), '--data-dir', dataDir],
      ...['--api-key', apiKey],
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  try {
    const found = await new Promise<{ ssh: number; http: number; fp: string }>((resolve, reject) => {
      let text = '';
      let ssh = 0;
      let fp = '';
      let http = 0;
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${text}`)), 20_000);
      child.stderr?.on('data', (c: Buffer) => {
        text += c.toString('utf8');
        const s = /SSH on [^:]+:(\d+), host key (\S+)/.exec(text);
        if (s) {
          ssh = Number(s[1]);
          fp = s[2] ?? '';
        }
        for (const line of text.split('\n')) {
          if (line.includes('"http listening"')) http = Number(JSON.parse(line).port);
        }
        if (ssh && http) {
          clearTimeout(timer);
          resolve({ ssh, http, fp });
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited ${code}:\n${text}`));
      });
    });
    return { child, sshPort: found.ssh, httpPort: found.http, hostKeyFingerprint: found.fp, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A minimal MCP Streamable HTTP caller: initialize once, then tools/call returning the tool's JSON. */
export async function mcpSession(httpPort: number, apiKey: string) {
  const url = `http://127.0.0.1:${httpPort}/mcp`;
  const headers: Record<string, string> = {
    authorization: `Bearer ${apiKey}`,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  const post = async (body: unknown) => {
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
    const text = await res.text();
    const sid = res.headers.get('mcp-session-id');
    if (sid) headers['mcp-session-id'] = sid;
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
      .join('');
    return data ? JSON.parse(data) : text ? JSON.parse(text) : null;
  };
  await post({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'client-test', version: '1' },
    },
  });
  await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  let id = 2;
  return {
    /** The tool's JSON result, or its error body with `isError: true`. */
    async call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
      const reply = await post({
        jsonrpc: '2.0',
        id: id++,
        method: 'tools/call',
        params: { name, arguments: args },
      });
      const result = reply.result as { content: Array<{ text: string }>; isError?: boolean };
      const body = JSON.parse(result.content[0]?.text ?? '{}');
      return result.isError ? { ...body, isError: true } : body;
    },
  };
}
