import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild } from '../../../../test-support/stop-child.ts';

/** Real processes for the MCP end-to-end tests: a reach-server and reach clients on loopback. */
export const ROOT = resolve(import.meta.dirname, '../../../..');
export const NODE = process.execPath;
export const SERVER_BIN = join(ROOT, 'packages/server/src/bin.ts');
export const CLIENT_BIN = join(ROOT, 'packages/client/src/bin.ts');
/** The installed commands (package.json "bin"): they turn on the compile cache first. */
export const SERVER_LAUNCHER = join(ROOT, 'packages/server/bin/reach-server.mjs');
export const CLIENT_LAUNCHER = join(ROOT, 'packages/client/bin/reach.mjs');

export interface LogLine {
  msg?: string;
  port?: number;
  [key: string]: unknown;
}

/** Collects a child's stderr JSON log lines and lets a test wait for one. */
export class LogWatch {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  #waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  constructor(stream: NodeJS.ReadableStream) {
    createInterface({ input: stream }).on('line', (text) => {
      this.raw.push(text);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        return;
      }
      this.lines.push(line);
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(line)) return true;
        w.resolve(line);
        return false;
      });
    });
  }

  waitFor(match: (l: LogLine) => boolean, timeoutMs = 20_000): Promise<LogLine> {
    const found = this.lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`log line not seen in ${timeoutMs} ms; last lines:\n${this.raw.slice(-10).join('\n')}`),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        match,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
    });
  }
}

export interface ServerProcess {
  proc: ChildProcess;
  dataDir: string;
  sshPort: number;
  httpPort: number;
  logs: LogWatch;
  stop(): Promise<void>;
}

/** Starts `reach-server --transport http` on ephemeral SSH and HTTP ports. */
export async function startHttpServer(
  options: {
    apiKey?: string;
    env?: Record<string, string>;
    args?: string[];
    dataDir?: string;
    bin?: string;
  } = {},
): Promise<ServerProcess> {
  // Later flags win, so callers may pin --port / --ssh-port (a restart on the same ports).
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'reach-mcp-server-'));
  const args = [
    options.bin ?? SERVER_BIN,
    '--transport',
    'http',
    '--port',
    '0',
    '--ssh-port',
    '0',
    '--ssh-host',
    '127.0.0.1',
  ];
  args.push('--data-dir', dataDir, '--log-level', 'info', ...(options.args ?? []));
  if (options.apiKey) args.push('--api-key', options.apiKey);
  const proc = spawn(NODE, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  const logs = new LogWatch(proc.stderr!);
  const ssh = await logs.waitFor((l) => l.msg === 'ssh listening');
  const http = await logs.waitFor((l) => l.msg === 'http listening');
  return {
    proc,
    dataDir,
    sshPort: Number(ssh.port),
    httpPort: Number(http.port),
    logs,
    stop: async () => {
      await stopChild(proc, 5000);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ClientProcess {
  proc: ChildProcess;
  home: string;
  uuid: string;
  logs: LogWatch;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Creates a client home (config, key), authorizes its key on the server, and starts `reach`. */
export async function startClient(
  server: { dataDir: string; sshPort: number },
  options: { displayName: string; env?: Record<string, string>; copyConfigFrom?: string; bin?: string },
): Promise<ClientProcess> {
  const bin = options.bin ?? CLIENT_BIN;
  const home = mkdtempSync(join(tmpdir(), 'reach-mcp-client-'));
  if (options.copyConfigFrom) {
    // Same config (and so the same UUID) under a freshly generated key: an impostor or a re-keyed host.
    copyFileSync(join(options.copyConfigFrom, 'config.yaml'), join(home, 'config.yaml'));
  }
  const env = { ...process.env, REACH_HOME: home, REACH_DISPLAY_NAME: options.displayName, ...options.env };
  execFileSync(NODE, [bin, '--init'], { env, stdio: 'pipe' });
  execFileSync(NODE, [bin, '--generate-key'], { env, stdio: 'pipe' });
  const uuid = execFileSync(NODE, [bin, '--show-uuid'], { env, encoding: 'utf8' }).trim();
  appendFileSync(join(server.dataDir, 'authorized_keys'), readFileSync(join(home, 'id_ed25519.pub'), 'utf8'));
  const proc = spawn(NODE, [bin, '-s', '127.0.0.1', '-p', String(server.sshPort)], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const logs = new LogWatch(proc.stderr!);
  return {
    proc,
    home,
    uuid,
    logs,
    stop: async (signal) => {
      if (signal) proc.kill(signal);
      await stopChild(proc, 5000);
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` passes or the deadline expires. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met in ${timeoutMs} ms${lastErr ? `: ${String(lastErr)}` : ''}`);
}
