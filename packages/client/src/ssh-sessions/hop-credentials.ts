import { readFile } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
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

/** The client's path policy: resolves a path or throws PATH_DENIED. */
export type CheckPath = (path: string) => Promise<string>;

/**
 * Turns a hop request (or a persisted hop, on restore) into credentials ssh2 can use: the key file
 * goes through the path policy, is read and checked. Missing or unusable keys are SSH_KEY_NOT_FOUND.
 */
export async function resolveHop(
  request: HopRequest | PersistedHop,
  checkPath?: CheckPath,
): Promise<OnwardHop> {
  const hop: OnwardHop = { host: request.host, port: request.port, username: request.username };
  if ('password' in request && request.password !== undefined) hop.password = request.password;
  else if (request.key_file !== undefined) hop.privateKey = await readKey(request.key_file, checkPath);
  return hop;
}

async function readKey(path: string, checkPath?: CheckPath): Promise<Buffer> {
  const resolved = checkPath ? await checkPath(path) : path;
  let data: Buffer;
  try {
    data = await readFile(resolved);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ReachError('SSH_KEY_NOT_FOUND', `cannot read key file ${path}: ${code ?? 'error'}`, {
      details: { key_file: path, reason: code },
      recoveryHint: 'give the absolute path of a private key file on the client',
    });
  }
  validatePrivateKey(data, path);
  return data;
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
