import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ReachError, type ReleaseArtifact, type ReleaseManifest } from '@reach/protocol';
import { verifyReleaseManifest } from '@reach/protocol/node';
import { compareVersions } from './version-order.ts';

export interface VerifyReleaseInput {
  manifestBytes: Uint8Array;
  signature: string;
  /** config.yaml's update_public_key; empty refuses every update. */
  publicKey: string;
  /** The version the caller asked for: the signed manifest must name exactly this one. */
  version: string;
  currentVersion: string;
  /** Apply a version ≤ the current one. */
  force: boolean;
  /** `linux` | `windows`, `x86_64` | `aarch64` (the manifest's names). */
  platform: string;
  arch: string;
}

/**
 * The artifact of a signed manifest this client may install: the signature first (nothing in the
 * manifest is read before it holds), then the version, then this platform's executable.
 * Channels are not signed (the server picks them), so the downgrade check is the client's own.
 */
export function verifyRelease(input: VerifyReleaseInput): {
  manifest: ReleaseManifest;
  artifact: ReleaseArtifact;
} {
  if (input.publicKey === '') {
    throw new ReachError('UPDATE_REFUSED', 'this client has no update_public_key: it applies no update', {
      details: { reason: 'no_update_key' },
      recoveryHint: 'set update_public_key in config.yaml (reach --init --update-public-key KEY)',
    });
  }
  const { manifest } = verifyReleaseManifest(input.manifestBytes, input.signature, input.publicKey);
  if (manifest.version !== input.version) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `the signed manifest is for ${manifest.version}, not the ${input.version} asked for`,
    );
  }
  if (!input.force && compareVersions(manifest.version, input.currentVersion) <= 0) {
    throw new ReachError(
      'UPDATE_REFUSED',
      `${manifest.version} is not newer than the running ${input.currentVersion}`,
      {
        details: { reason: 'downgrade', current: input.currentVersion },
        recoveryHint: 'pass force to reinstall or downgrade',
      },
    );
  }
  const artifact = manifest.artifacts.find(
    (a) =>
      a.bin === 'reach' && a.kind === 'executable' && a.platform === input.platform && a.arch === input.arch,
  );
  if (!artifact) {
    throw new ReachError(
      'UPDATE_REFUSED',
      `release ${manifest.version} has no reach executable for ${input.platform}/${input.arch}`,
      {
        details: { reason: 'no_artifact' },
      },
    );
  }
  return { manifest, artifact };
}

/** The manifest's names for this process's platform and arch. */
export function manifestPlatform(nodePlatform: string, nodeArch: string): { platform: string; arch: string } {
  return {
    platform: nodePlatform === 'win32' ? 'windows' : nodePlatform,
    arch: nodeArch === 'x64' ? 'x86_64' : nodeArch === 'arm64' ? 'aarch64' : nodeArch,
  };
}

/** Size and SHA-256 of `path` against the signed ones; INTEGRITY_ERROR naming which differs. */
export async function checkArtifactFile(path: string, artifact: ReleaseArtifact): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size !== artifact.size) {
      throw new ReachError(
        'INTEGRITY_ERROR',
        `${artifact.name} is ${size} bytes, the signed manifest says ${artifact.size}`,
        {
          details: {
            reason: size < artifact.size ? 'truncated' : 'size_mismatch',
            size,
            expected: artifact.size,
          },
        },
      );
    }
    const hash = createHash('sha256');
    for await (const chunk of fh.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    const sha256 = hash.digest('hex');
    if (sha256 !== artifact.sha256) {
      throw new ReachError('INTEGRITY_ERROR', `${artifact.name}'s SHA-256 is not the signed one`, {
        details: { reason: 'sha256_mismatch', sha256, expected: artifact.sha256 },
      });
    }
  } finally {
    await fh.close();
  }
}
