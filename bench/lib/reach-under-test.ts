/**
 * A Reach server started in-process (so benches call its services directly) and one real client
 * process connected to it over loopback SSH, each with its own temp directory.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SERVICE_V8_FLAGS } from '@reach/protocol/node';
import { authorizeKey } from '../../packages/server/src/commands/authorize.ts';
import { loadServerConfig } from '../../packages/server/src/config/server-config.ts';
import type { RunningServer, StartServerDeps } from '../../packages/server/src/main.ts';
import { startServer } from '../../packages/server/src/main.ts';
import { stopChild } from '../../test-support/stop-child.ts';

const execFileAsync = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENT_BIN = join(ROOT, 'packages/client/src/bin.ts');

/** The latency benches' `--client-node-options` (parseArgs): the service unit's flags unless given. */
export const CLIENT_NODE_OPTIONS = { type: 'string', default: SERVICE_V8_FLAGS.join(' ') } as const;

/** `--client-node-options` as flags, and the line a bench prints to say how its client ran. */
export function clientNodeFlagsOf(text: string | undefined): { flags: string[]; described: string } {
  const flags = (text ?? '').split(/\s+/).filter(Boolean);
  const how = flags.length > 0 ? 'as its service unit and single executable run it' : 'as a foreground run';
  return { flags, described: `node ${flags.join(' ') || '(default flags)'} on the source, ${how}` };
}

export interface ReachUnderTest {
  server: RunningServer;
  /** The connected client's UUID. */
  uuid: string;
  /** The client process's pid. */
  clientPid: number;
  /** Stops the client process and the server; removes both temp dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface ReachUnderTestOptions {
  /** Extra server flags (e.g. `--transport http --port 0`). */
  serverArgs?: string[];
  /** Replaces the MCP/HTTP transports; by default none are started. */
  startTransports?: StartServerDeps['startTransports'];
  /** The client to run, e.g. a single executable (bench:release); default: node on the source bin. */
  clientExe?: string;
  /** Added to the client's environment (e.g. REACH_SHELL_POOL=0 for plain spawns). */
  clientEnv?: Record<string, string>;
  /**
   * Node flags for a client run from source (none for a single executable, whose flags are baked
   * in). Latency benches pass SERVICE_V8_FLAGS, as the client's service unit runs it: Node's spawn
   * forks the client, and a fork costs with the client's resident memory (0.9 ms at 61 MiB,
   * 1.8 ms at 107 MiB here), which a default-sized young generation lets grow to ~110 MiB under a
   * loop of commands against ~68 MiB with `--max-semi-space-size=1`.
   */
  clientNodeFlags?: readonly string[];
}

/** Starts the server (SSH on 127.0.0.1, ephemeral port) and a client, and waits until it is online. */
export async function startReach(options: ReachUnderTestOptions = {}): Promise<ReachUnderTest> {
  const dataDir = await mkdtemp(join(tmpdir(), 'reach-bench-server-'));
  const clientHome = await mkdtemp(join(tmpdir(), 'reach-bench-client-'));
  let server: RunningServer | undefined;
  let client: ChildProcess | undefined;
  let clientStderr = '';
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (client) await stopChild(client, 5000);
      await server?.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(clientHome, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const { config } = loadServerConfig(
      [
        '--ssh-host',
        '127.0.0.1',
        '--ssh-port',
        '0',
        '--data-dir',
        dataDir,
        '--log-level',
        'warn',
        ...(options.serverArgs ?? []),
      ],
      {},
    );
    server = await startServer(config, {
      startTransports: options.startTransports ?? (async () => ({ close: async () => {} })),
    });

    // Terminals run /bin/sh, as the OpenSSH baseline's `exec /bin/sh` does: the user's interactive
    // shell would run their ~/.bashrc (on this CI image pyenv's init never gives a prompt).
    const env = {
      ...process.env,
      REACH_HOME: clientHome,
      REACH_LOG_LEVEL: 'warn',
      SHELL: '/bin/sh',
      ...options.clientEnv,
    };
    const [exe, ...pre] =
      options.clientExe === undefined
        ? [process.execPath, ...(options.clientNodeFlags ?? []), CLIENT_BIN]
        : [options.clientExe];
    const cmd = exe ?? process.execPath;
    await execFileAsync(cmd, [...pre, '--init'], { env });
    await execFileAsync(cmd, [...pre, '--generate-key'], { env });
    await authorizeKey(dataDir, join(clientHome, 'id_ed25519.pub'));
    const uuid = (await execFileAsync(cmd, [...pre, '--show-uuid'], { env })).stdout.trim();

    client = spawn(cmd, [...pre, '-s', '127.0.0.1', '-p', String(server.sshPort)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    client.stderr?.setEncoding('utf8');
    client.stderr?.on('data', (d: string) => {
      clientStderr = (clientStderr + d).slice(-16_384);
      // REACH_BENCH_CLIENT_LOG=1: the client's log on the bench's stderr as it comes.
      if (process.env.REACH_BENCH_CLIENT_LOG === '1') process.stderr.write(d);
    });
    const running = server;
    const proc = client;
    const deadline = Date.now() + 20_000;
    while (running.services.registry.get(uuid) === undefined) {
      if (proc.exitCode !== null) throw new Error(`client exited (${proc.exitCode}):\n${clientStderr}`);
      if (Date.now() > deadline) throw new Error(`client not online within 20 s:\n${clientStderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { server: running, uuid, clientPid: proc.pid!, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
