import { ReachError } from '../errors.ts';
import { MAX_MANIFEST_BYTES, type ReleaseManifest, ReleaseManifestSchema } from '../release-manifest.ts';
import { type MinisignPublicKey, parsePublicKey, verifyMinisign } from './minisign.ts';

export interface VerifiedRelease {
  manifest: ReleaseManifest;
  /** The signing key's id (`%016X`, as minisign prints it). */
  keyId: string;
  /** The signed `trusted comment:` text (minisign's `timestamp:…\tfile:release.json\thashed`). */
  trustedComment: string;
}

/**
 * Checks `release.json`'s exact bytes against its `release.json.minisig` and the one release
 * public key the caller trusts (a client: its config's `update_public_key`; the server: its
 * `--release-public-key`), then parses the manifest. Nothing in the manifest is looked at before
 * the signature holds. Throws SIGNATURE_INVALID (`details.reason`: malformed_key,
 * malformed_signature, unsupported_algorithm, wrong_key, bad_signature, bad_trusted_comment) or,
 * for a signed file that is not a manifest this version understands, INVALID_ARGUMENT.
 */
export function verifyReleaseManifest(
  manifestBytes: Uint8Array,
  minisigText: string,
  publicKey: string | MinisignPublicKey,
): VerifiedRelease {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
  if (manifestBytes.length > MAX_MANIFEST_BYTES) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `release.json is ${manifestBytes.length} bytes: not a release manifest`,
    );
  }
  const trustedComment = verifyMinisign(manifestBytes, minisigText, key);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(manifestBytes).toString('utf8'));
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', 'the signed release.json is not JSON', { cause: err });
  }
  const parsed = ReleaseManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `the signed release.json is not a manifest this version reads: ${parsed.error.issues[0]?.message}`,
    );
  }
  return { manifest: parsed.data, keyId: key.keyId, trustedComment };
}
