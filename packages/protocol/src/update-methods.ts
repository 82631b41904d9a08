import { z } from 'zod';
import { MAX_MANIFEST_BYTES, RELEASE_VERSION } from './release-manifest.ts';

/**
 * Client self-update (#16): the server hands a client a signed release manifest and where to
 * fetch its executable; the client checks the signature against its own update_public_key, the
 * executable's size and SHA-256 against the manifest, and only then swaps and restarts.
 */

/** Where an update stands on a client (update.json there; `last_update` in its hello). */
export const LastUpdate = z.object({
  from: z.string().max(64),
  to: z.string().max(64),
  started_at: z.string().max(64),
  state: z.enum(['applied', 'healthy', 'rolled_back']),
  reason: z.string().max(1024).optional(),
  /** rolled_back: the new version's last output lines (≤ 4 KiB). */
  log_tail: z.string().max(8192).optional(),
});
export type LastUpdate = z.infer<typeof LastUpdate>;

export const UpdateApplyParams = z.object({
  version: z.string().regex(RELEASE_VERSION),
  /** release.json's exact bytes, base64 (what the signature covers). */
  manifest: z.string().max(Math.ceil((MAX_MANIFEST_BYTES * 4) / 3) + 4),
  /** release.json.minisig's text. */
  signature: z.string().max(4096),
  /**
   * How the executable arrives: `url`, an HTTP GET of the server's /releases/<v>/<name> route
   * (resumed with a Range request after an interrupted try). The SSH stream channel is not offered
   * yet (README, "Client updates").
   */
  source: z.literal('url').default('url'),
  /**
   * The release's directory URL, ending in `/` (`http://server:8765/releases/1.4.0/`): the client
   * appends the name of the artifact the signed manifest lists for its platform and arch.
   */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .refine((u) => u.endsWith('/'), 'the release directory URL ends in /'),
  /** Apply a version that is not newer than the running one. */
  force: z.boolean().default(false),
});
export type UpdateApplyParams = z.infer<typeof UpdateApplyParams>;

export const UpdateApplyResult = z.object({
  accepted: z.boolean(),
  /** applied: verified and swapped; the client restarts into it right after this reply. */
  state: z.literal('applied'),
  from: z.string(),
  to: z.string(),
});
export type UpdateApplyResult = z.infer<typeof UpdateApplyResult>;

export const UPDATE_METHODS = {
  update_apply: { params: UpdateApplyParams, result: UpdateApplyResult },
} as const;
