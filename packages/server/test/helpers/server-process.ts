/**
 * Test and bench harness: `reach-server` as a real child process on loopback, with its memory
 * read from /proc, for the idle-clients test and bench:memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { freePort } from '../../../../test-support/openssh.ts';
import { stopChild } from '../../../../test-support/stop-child.ts';

const SERVER_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/bin.ts');

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  sshPort: number;
  httpPort: number;
  /** Client counts from the unauthenticated `GET /health`. */
  clientCounts(): Promise<{ online: number; total: number }>;
  /** The server's stderr so far (bounded), for diagnosing failures. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Spawns `reach-server` as a real process (so its memory can be read from /proc) on loopback with
 * ephemeral SSH and HTTP ports, and resolves once it prints its SSH port.
 */
export async function spawnServerProcess(
  dataDir: string,
  extraArgs: string[] = [],
  /** Node flags placed before the script (e.g. `--inspect=127.0.0.1:0`). */
  nodeArgs: string[] = [],
  /** The server entry point (bench:scale runs another revision's beside this one). */
  bin = SERVER_BIN,
): Promise<ServerProcess> {
  // The server does not print its HTTP port at log level warn: pick a free one (a lost race makes
  // the start fail loudly, it cannot pass wrongly).
  const httpPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      bin,
      '--transport',
      'http',
      '--port',
      String(httpPort),
      '--ssh-host',
      '127.0.0.1',
      '--ssh-port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  const sshPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 20 s:\n${stderr}`)), 20_000);
    child.stderr?.on('data', (d: string) => {
      stderr = (stderr + d).slice(-65_536);
      const m = /SSH on [^\s]+:(\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${stderr}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  let stopped: Promise<void> | undefined;
  return {
    child,
    pid: child.pid!,
    sshPort,
    httpPort,
    clientCounts: async () => {
      const res = await fetch(`http://127.0.0.1:${httpPort}/health`);
      if (!res.ok) throw new Error(`GET /health: HTTP ${res.status}`);
      return HealthCounts.parse(await res.json()).clients;
    },
    stderr: () => stderr,
    stop: () => {
      stopped ??= stopChild(child, 5000);
      return stopped;
    },
  };
}

const HealthCounts = z.object({
  clients: z.object({ online: z.number().int(), total: z.number().int() }),
});

/** Resident set size of a process in bytes (Linux: VmRSS in /proc/<pid>/status). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}
