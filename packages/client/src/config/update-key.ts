import { readFile } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
import { parsePublicKey } from '@reach/protocol/node';

/**
 * The base64 line of a minisign public key: `Ed` ‖ key id (8) ‖ Ed25519 key (32) is 42 bytes,
 * 56 characters without padding, and `Ed` always encodes to a leading `RW`.
 */
export const UPDATE_KEY_LINE = /^RW[A-Za-z0-9+/]{54}$/;

export interface UpdateKey {
  /** What config.yaml stores as `update_public_key`. */
  line: string;
  /** minisign's `%016X` key id, for messages. */
  keyId: string;
}

/**
 * `--update-public-key` takes the key line itself (what `minisign -P` takes) or the path of a
 * `release.pub` file (`reach-server release-key generate` wrote it); either is checked to be a
 * minisign Ed25519 public key before anything is written.
 */
export async function resolveUpdateKey(arg: string): Promise<UpdateKey> {
  let text = arg.trim();
  if (!UPDATE_KEY_LINE.test(text)) {
    try {
      text = await readFile(arg, 'utf8');
    } catch (err) {
      throw new ReachError(
        'INVALID_ARGUMENT',
        `--update-public-key: ${arg} is neither a minisign public key nor a readable key file`,
        { cause: err },
      );
    }
  }
  let key: ReturnType<typeof parsePublicKey>;
  try {
    key = parsePublicKey(text);
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', `--update-public-key: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const line = Buffer.concat([Buffer.from('Ed', 'latin1'), key.keyIdBytes, key.raw]).toString('base64');
  return { line, keyId: key.keyId };
}
