import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
import { readRegularFile } from '../fs/read-bounded.ts';
import { type OnwardHop, validatePrivateKey } from '../tunnel/onward-connect.ts';
import type { PersistedHop } from './session-store.ts';

/** A host to open a session on, as the caller gave it: the target or one of its jump hosts. */
export interface HopRequest {
  host: string;
  port: number;
  username: string;
  password?: string | undefined;
  /** Path of a private key file on the client. */
  key_file?: string | undefined;
}

/**
 * Reads a whole file through the client's path policy (agent/read-allowed-file.ts, wired in
 * run-agent.ts): at most `maxBytes`; PATH_DENIED (a ReachError) outside allowed_paths or for a
 * symlink swapped in after the check; any other failure means the file cannot be used.
 */
export type ReadAllowedFile = (path: string, maxBytes: number) => Promise<Buffer>;

/** Largest key file read, in bytes (OpenSSH's own cap, MAX_KEY_FILE_SIZE in authfile.c). */
export const MAX_KEY_FILE_BYTES = 1024 * 1024;

/**
 * Turns a hop request (or a persisted hop, on restore) into credentials ssh2 can use: the key file
 * is read through the path policy (`readAllowed`) and checked. A policy refusal stays PATH_DENIED;
 * missing or unusable keys are SSH_KEY_NOT_FOUND.
 */
export async function resolveHop(
  request: HopRequest | PersistedHop,
  readAllowed: ReadAllowedFile = readByName,
): Promise<OnwardHop> {
  const hop: OnwardHop = { host: request.host, port: request.port, username: request.username };
  if ('password' in request && request.password !== undefined) hop.password = request.password;
  else if (request.key_file !== undefined) hop.privateKey = await readKey(request.key_file, readAllowed);
  return hop;
}

async function readKey(path: string, readAllowed: ReadAllowedFile): Promise<Buffer> {
  let data: Buffer;
  try {
    data = await readAllowed(path, MAX_KEY_FILE_BYTES);
  } catch (err) {
    if (err instanceof ReachError && err.code === 'PATH_DENIED') throw err;
    const reason = err instanceof ReachError ? err.code : (err as NodeJS.ErrnoException).code;
    throw new ReachError('SSH_KEY_NOT_FOUND', `cannot read key file ${path}: ${reason ?? 'error'}`, {
      details: { key_file: path, reason },
      recoveryHint: 'give the absolute path of a private key file on the client',
    });
  }
  validatePrivateKey(data, path);
  return data;
}

/** With no path policy (benches, tests): the key file read by name, still only a regular one, bounded. */
async function readByName(path: string, maxBytes: number): Promise<Buffer> {
  // O_NONBLOCK: a FIFO named as the key file must not hang the open.
  const fh = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  try {
    return await readRegularFile(
      fh,
      path,
      maxBytes,
      () => new ReachError('FILE_TOO_LARGE', `over ${maxBytes} bytes: ${path}`),
    );
  } finally {
    await fh.close();
  }
}

/** What is stored about a hop: never its password, only that one was used. */
export function persistedHop(hop: HopRequest): PersistedHop {
  const out: PersistedHop = {
    host: hop.host,
    port: hop.port,
    username: hop.username,
    auth: hop.password !== undefined ? 'password' : 'key',
  };
  if (hop.key_file !== undefined) out.key_file = hop.key_file;
  return out;
}
