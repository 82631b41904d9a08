import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { type HelloResult, LINK, type RpcHandler, SetPolicyParams } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import ssh2 from 'ssh2';
import type { ManyClientsOptions, SimClient } from './many-clients.ts';

/**
 * Starts the simulated client for `options.keys[index]`: it connects, asks for the virtual agent
 * forward and answers the server's agent calls. `registered` settles once `hello` is answered, or
 * rejects on error, close or timeout.
 */
export function startSimClient(index: number, options: ManyClientsOptions): SimClient {
  const key = options.keys[index]!;
  const conn = new ssh2.Client();
  const uuid = options.uuidOf?.(index) ?? randomUUID();
  const calls = new Map<string, number>();
  const startedAt = Date.now();
  const closed = new Promise<void>((resolve) => conn.once('close', () => resolve()));
  const count = (method: string): void => {
    calls.set(method, (calls.get(method) ?? 0) + 1);
  };
  const hello: HelloResult = {
    uuid,
    client_id: `sim-${index}`,
    display_name: `sim-${index}`,
    purpose: 'idle test client',
    tags: options.tagsOf?.(index) ?? ['sim'],
    capabilities: [],
    hostname: `sim-host-${index}`,
    platform: 'linux',
    username: 'sim',
    version: options.versionOf?.(index) ?? '0.0.0-sim',
    allowed_paths: [],
  };
  const registered = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`client ${index}: not registered within ${options.timeoutMs ?? 30_000} ms`)),
      options.timeoutMs ?? 30_000,
    );
    const fail = (err: Error): void => {
      clearTimeout(timer);
      reject(new Error(`client ${index}: ${err.message}`));
    };
    const handlers = new Map<string, RpcHandler>([
      [
        'hello',
        async (params) => {
          count('hello');
          options.onHello?.(index, params);
          clearTimeout(timer);
          // Answer first, then report: the server registers the client once this reply lands.
          setImmediate(resolve);
          return hello;
        },
      ],
      [
        'set_policy',
        async (params) => {
          count('set_policy');
          return { allowed_paths: SetPolicyParams.parse(params).allowed_paths };
        },
      ],
      [
        // Answers any command at once as `echo sim` would (fan-out tests and bench:fanout).
        'run_command',
        async () => {
          count('run_command');
          return { stdout: 'sim\n', stderr: '', returncode: 0, duration_ms: 0, truncated: false };
        },
      ],
      ...(options.extraHandlers?.({ index, uuid, conn }) ?? []),
      [
        'heartbeat',
        async () => {
          count('heartbeat');
          return { ts: Date.now(), uptime_s: (Date.now() - startedAt) / 1000 };
        },
      ],
    ]);
    conn.on('tcp connection', (info, accept, rejectChannel) => {
      if (info.destIP !== LINK.agentBindAddr || info.destPort !== LINK.agentBindPort) {
        rejectChannel();
        return;
      }
      const stream = accept();
      peerOverStream(stream, { handlers });
    });
    conn.on('ready', () => {
      conn.forwardIn(LINK.agentBindAddr, LINK.agentBindPort, (err) => {
        if (err) fail(err);
      });
    });
    conn.on('error', fail);
    conn.on('close', () => fail(new Error('connection closed')));
  });
  // A client that registered and later closes must not surface as an unhandled rejection.
  registered.catch(() => {});
  // Our own socket, so what arrives before the SSH identification can be read (the retry hint).
  const sock = connect(options.port, options.host ?? '127.0.0.1');
  let preamble = '';
  const sniff = (chunk: Buffer): void => {
    preamble += chunk.toString('latin1');
    if (preamble.includes('SSH-') || preamble.length > 4096) sock.off('data', sniff);
  };
  sock.on('data', sniff);
  sock.on('error', () => {}); // surfaces through ssh2's own error and close
  conn.connect({
    sock,
    username: LINK.defaultUser,
    privateKey: key.privateKey,
    hostVerifier: () => true,
    readyTimeout: options.timeoutMs ?? 30_000,
    keepaliveInterval: 0,
  });
  return { index, uuid, conn, registered, calls, closed, preamble: () => preamble };
}
