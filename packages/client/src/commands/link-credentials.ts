import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReachError } from '@reach/protocol';
import type { LoadedConfig } from '../config/load-config.ts';
import { publicKeyOf } from '../tunnel/keys.ts';
import { knownHostName } from '../tunnel/known-hosts.ts';

/** The known_hosts file pinning the server's host key, in the config directory. */
export const KNOWN_HOSTS_FILE = 'known_hosts';

export interface LinkTarget {
  host: string;
  port: number;
  username: string;
  /** OpenSSH private key text; never logged. */
  privateKey: string;
  knownHostsPath: string;
}

/** What it takes to open an SSH link to the server; a missing key is the user's to fix. */
export async function linkTarget(loaded: LoadedConfig): Promise<LinkTarget> {
  let privateKey: string;
  try {
    privateKey = await readFile(loaded.keyPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ReachError(
        'SSH_KEY_NOT_FOUND',
        `no key at ${loaded.keyPath}: run \`reach --init\` then \`reach --generate-key\``,
      );
    }
    throw err;
  }
  return {
    host: loaded.config.server_host,
    port: loaded.config.server_port,
    username: loaded.config.server_user,
    privateKey,
    knownHostsPath: join(loaded.dir, KNOWN_HOSTS_FILE),
  };
}

/**
 * What to tell the user when the server refuses this client's key: its fingerprint and the exact
 * command that authorizes it on the server.
 */
export function authorizeHint(target: LinkTarget): string {
  const { line, fingerprint } = publicKeyOf(target.privateKey);
  return (
    `the server ${knownHostName(target.host, target.port)} does not accept this client's key ${fingerprint}; ` +
    `authorize it on the server with:\n  reach-server authorize '${line}'`
  );
}
