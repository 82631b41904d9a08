import { z } from 'zod';

/** File names inside a release: a plain name, never a path. */
export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const RELEASE_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;
/** The files beside the artifacts that are served too. */
export const MANIFEST_FILE = 'release.json';
export const SUMS_FILE = 'SHA256SUMS';
/** minisign's detached signature of release.json's exact bytes (release-signature.ts). */
export const SIGNATURE_FILE = 'release.json.minisig';
/** release.json is a few KiB; a file far larger is refused before it is read. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

const ArtifactSchema = z.object({
  name: z.string().regex(ARTIFACT_NAME),
  kind: z.enum(['executable', 'archive']),
  /** `reach` (client) or `reach-server`. */
  bin: z.enum(['reach', 'reach-server']),
  platform: z.enum(['linux', 'windows']),
  arch: z.enum(['x86_64', 'aarch64']),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Other names it is served under (the reference's `reach-linux`, `reach-windows.exe`). */
  aliases: z.array(z.string().regex(ARTIFACT_NAME)).default([]),
  /** ssh2's cipher implementation inside the executable: its native addon, or JavaScript. */
  crypto: z.enum(['native', 'js']).optional(),
});

/**
 * `release.json`: what `npm run release` wrote (and signed), `reach-server release install|publish`
 * checks and a client verifies before it updates. Shared by both ends: the client reads it too.
 */
export const ReleaseManifestSchema = z
  .object({
    version: z.string().regex(RELEASE_VERSION),
    /** Node version inside the executables. */
    node: z.string(),
    artifacts: z.array(ArtifactSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>([MANIFEST_FILE, SUMS_FILE, SIGNATURE_FILE]);
    for (const a of m.artifacts) {
      for (const n of [a.name, ...a.aliases]) {
        if (seen.has(n)) ctx.addIssue({ code: 'custom', message: `name ${n} appears twice` });
        seen.add(n);
      }
    }
  });
export type ReleaseManifest = z.infer<typeof ReleaseManifestSchema>;
export type ReleaseArtifact = ReleaseManifest['artifacts'][number];

/** `SHA256SUMS` in `sha256sum`'s format (two spaces: text mode), one line per artifact. */
export function sha256Sums(manifest: ReleaseManifest): string {
  return manifest.artifacts.map((a) => `${a.sha256}  ${a.name}\n`).join('');
}
