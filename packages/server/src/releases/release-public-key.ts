import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReachError } from '@reach/protocol';
import { type MinisignPublicKey, parsePublicKey } from '@reach/protocol/node';
import type { ServerConfig } from '../config/server-config.ts';

/** The public key file `reach-server release-key generate` writes beside its secret key. */
export const RELEASE_PUBLIC_KEY_FILE = 'release.pub';

export interface ConfiguredReleaseKey {
  path: string;
  key: MinisignPublicKey;
}

/**
 * The release public key the server checks published releases against: `--release-public-key`
 * (which must exist), else `<data-dir>/release.pub` if present, else none.
 */
export async function loadReleasePublicKey(
  config: Pick<ServerConfig, 'dataDir' | 'releasePublicKey'>,
): Promise<ConfiguredReleaseKey | undefined> {
  const explicit = config.releasePublicKey;
  const path = explicit ?? join(config.dataDir, RELEASE_PUBLIC_KEY_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (explicit === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ReachError('FILE_NOT_FOUND', `release public key ${path} cannot be read`, { cause: err });
  }
  try {
    return { path, key: parsePublicKey(text) };
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', `${path}: ${(err as Error).message}`, { cause: err });
  }
}
