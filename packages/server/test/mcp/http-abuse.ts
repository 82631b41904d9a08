import { readFileSync } from 'node:fs';
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/**
 * What an abusive HTTP caller does to reach-server, for mcp-http-limits.test.ts and
 * `npm run bench:http-abuse`: abandoned sessions and bodies far over the limit.
 */
export const MiB = 1024 * 1024;

export async function connect(port: number, key: string): Promise<{ client: Client; sessionId: string }> {
  const client = new Client({ name: 'limits-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${key}` } },
  });
  await client.connect(transport);
  return { client, sessionId: transport.sessionId ?? '' };
}

/** `count` SDK clients that initialize and then vanish without DELETE, `parallel` at a time. */
export async function flood(port: number, key: string, count: number, parallel = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        const { client } = await connect(port, key);
        await client.close();
      }
    }),
  );
}

export async function health(
  port: number,
): Promise<{ mcp: { sessions: number; evicted: number; expired: number } }> {
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  return (await res.json()) as { mcp: { sessions: number; evicted: number; expired: number } };
}

/** Resident set of a process, from /proc (Linux), in MiB. */
export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? Number.NaN) / 1024;
}

/** POSTs `total` bytes (declared with Content-Length, or chunked) and returns the server's answer. */
export function bigPost(
  port: number,
  path: string,
  total: number,
  options: { chunked: boolean; key?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
    if (!options.chunked) headers['content-length'] = String(total);
    // A connection of its own, kept alive: after a refused body the server drains what is left
    // (up to 64 MiB or 500 ms) before it closes, which it does at once for `Connection: close`
    // (a reset the client may see before it has read the answer); a pooled socket could be
    // closed under the next request.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers, agent });
    req.on('close', () => agent.destroy());
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    // Refused, the server drains the rest for up to 500 ms and then closes; a client still
    // writing then may see the reset before it has read the answer (status 0 here).
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return;
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') resolve({ status: 0, body: '' });
      else reject(err);
    });
    // An initialize request whose params never end: what the probe sent.
    const head = Buffer.from('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"pad":"');
    const chunk = Buffer.alloc(MiB, 0x61);
    let sent = 0;
    const pump = (): void => {
      if (sent === 0) {
        req.write(head);
        sent += head.length;
      }
      while (sent < total && !req.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}
