import { WebSocket } from 'ws';
import { type ClientProcess, type ServerProcess, startClient, startHttpServer } from '../mcp/harness.ts';

export type Control =
  | { type: 'ready'; id: string }
  | { type: 'exit'; code: number | null; signal: string | null }
  | { type: 'error'; error: string; message: string };

/** The browser's side of one terminal socket: output as text, control messages, the close. */
export class TermSocket {
  readonly ws: WebSocket;
  output = '';
  readonly controls: Control[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** The HTTP status when the upgrade was refused. */
  readonly refused: Promise<number>;
  #waiters: Array<() => void> = [];

  constructor(url: string, headers: Record<string, string>) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (data, isBinary) => {
      const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
      if (isBinary) this.output += text;
      else this.controls.push(JSON.parse(text) as Control);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.refused = new Promise((resolve) => {
      this.ws.on('unexpected-response', (req, res) => {
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      this.ws.on('error', () => {});
    });
  }

  /** Resolves when `check` holds, re-checked on every message; rejects if the socket closes first. */
  async until<T>(check: () => T | undefined, what: string): Promise<T> {
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      const closedFirst = await Promise.race([
        new Promise<false>((r) => this.#waiters.push(() => r(false))),
        this.closed.then(() => true),
      ]);
      if (closedFirst) {
        const last = check();
        if (last !== undefined) return last;
        throw new Error(
          `socket closed before ${what}; output so far: ${JSON.stringify(this.output.slice(-300))}`,
        );
      }
    }
  }

  outputMatching(re: RegExp): Promise<RegExpExecArray> {
    return this.until(() => re.exec(this.output) ?? undefined, `output matching ${re}`);
  }

  control<T extends Control['type']>(type: T): Promise<Extract<Control, { type: T }>> {
    return this.until(
      () => this.controls.find((c): c is Extract<Control, { type: T }> => c.type === type),
      `a ${type} message`,
    );
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text), { binary: true });
  }

  resize(cols: number, rows: number): void {
    this.ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }
}

export interface TerminalRig {
  server: ServerProcess;
  client: ClientProcess;
  open(options?: {
    cols?: number;
    rows?: number;
    headers?: Record<string, string>;
    uuid?: string;
  }): TermSocket;
  stop(): Promise<void>;
}

/** A real reach-server (HTTP) and one real client over loopback. */
export async function startTerminalRig(
  options: { apiKey?: string; args?: string[] } = {},
): Promise<TerminalRig> {
  const server = await startHttpServer({
    args: options.args ?? [],
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
  });
  const client = await startClient(server, { displayName: 'term-host', env: { SHELL: '/bin/sh' } });
  await server.logs.waitFor((l) => l.msg === 'client online');
  const origin = `http://127.0.0.1:${server.httpPort}`;
  return {
    server,
    client,
    open: (o = {}) =>
      new TermSocket(
        `ws://127.0.0.1:${server.httpPort}/api/clients/${o.uuid ?? client.uuid}/terminal?cols=${o.cols ?? 80}&rows=${o.rows ?? 24}`,
        {
          origin,
          ...(options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` }),
          ...o.headers,
        },
      ),
    stop: async () => {
      await client.stop();
      await server.stop();
    },
  };
}
