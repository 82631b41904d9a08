import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LINK, ListClientsResult, type RpcHandler } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import type ssh2 from 'ssh2';
import type { z } from 'zod';
import { ed25519KeyPair } from '../../../../test-support/ed25519-key-pair.ts';
import { startSimClient } from './start-sim-client.ts';

export type ListClients = z.infer<typeof ListClientsResult>;

export interface SimKey {
  privateKey: string;
  /** authorized_keys line. */
  publicKey: string;
}

export interface SimClient {
  index: number;
  uuid: string;
  conn: ssh2.Client;
  /** Resolves when the server's `hello` has been answered. */
  registered: Promise<void>;
  /** Agent calls answered so far, by method. */
  calls: Map<string, number>;
  /** Resolves when the SSH connection has closed. */
  closed: Promise<void>;
  /** What the server sent before its SSH identification (a retry hint when it turned this one away). */
  preamble(): string;
}

export interface ManyClientsOptions {
  port: number;
  host?: string;
  keys: readonly SimKey[];
  /** SSH handshakes in progress at once (default 25). */
  connectConcurrency?: number;
  /** Per-client wait for the handshake and for `hello`, in ms (default 30 s). */
  timeoutMs?: number;
  /** Tags client `index` reports in hello (default ['sim']). */
  tagsOf?: (index: number) => string[];
  /** The UUID client `index` claims (default: a random one); a reconnect passes the same. */
  uuidOf?: (index: number) => string;
  /** The version client `index` reports in hello (default 0.0.0-sim). */
  versionOf?: (index: number) => string;
  /** Told of every `hello` the server sends client `index` (bench:storm reads reconnect_window_ms). */
  onHello?: (index: number, params: unknown) => void;
  /** More agent methods client `index` answers (bench:update: update_apply). */
  extraHandlers?: (client: { index: number; uuid: string; conn: ssh2.Client }) => Array<[string, RpcHandler]>;
}

export interface ManyClients {
  clients: SimClient[];
  /** Asks the server for its client list over the `reach-control` subsystem of one connection. */
  listClients(): Promise<ListClients>;
  /** Ends every connection and waits until each has closed. Idempotent. */
  close(): Promise<void>;
}

/** Fresh ed25519 key pairs (OpenSSH format), generated in-process. */
export function generateSimKeys(count: number): SimKey[] {
  return Array.from({ length: count }, (_, i) => {
    const pair = ed25519KeyPair(`sim-${i}`);
    return { privateKey: pair.private, publicKey: pair.public.trim() };
  });
}

/** Appends the keys to `<dataDir>/authorized_keys` (the server re-reads it on change). */
export async function authorizeSimKeys(dataDir: string, keys: readonly SimKey[]): Promise<void> {
  await appendFile(join(dataDir, 'authorized_keys'), keys.map((k) => `${k.publicKey}\n`).join(''), {
    mode: 0o600,
  });
}

/**
 * Connects one client per key, at most `connectConcurrency` handshakes at a time, and resolves once
 * every client has answered `hello`. On any failure every connection is closed and the error thrown.
 */
export async function connectManyClients(options: ManyClientsOptions): Promise<ManyClients> {
  const clients: SimClient[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(clients.map(endConnection));
  };
  const limit = options.connectConcurrency ?? 25;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.keys.length) {
      const index = next++;
      const client = startSimClient(index, options);
      clients.push(client);
      await client.registered;
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, options.keys.length) }, worker));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    clients,
    listClients: () => listClients(clients[0]?.conn, options.timeoutMs ?? 30_000),
    close,
  };
}

function listClients(conn: ssh2.Client | undefined, timeoutMs: number): Promise<ListClients> {
  if (!conn) return Promise.reject(new Error('no connected client to ask'));
  return new Promise((resolve, reject) => {
    conn.subsys(LINK.controlSubsystem, (err, stream) => {
      if (err) {
        reject(err);
        return;
      }
      const peer = peerOverStream(stream);
      peer
        .call('list_clients', {}, { timeoutMs })
        .then((result) => resolve(ListClientsResult.parse(result)), reject)
        .finally(() => peer.close());
    });
  });
}

async function endConnection(client: SimClient): Promise<void> {
  client.conn.end();
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      client.conn.destroy();
      resolve();
    }, 5000);
  });
  await Promise.race([client.closed, forced]);
  clearTimeout(timer);
}
