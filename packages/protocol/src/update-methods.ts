import { z } from 'zod';
import { ARTIFACT_NAME, MAX_MANIFEST_BYTES, RELEASE_VERSION } from './release-manifest.ts';

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
  /**
   * What started it: `server` (update_apply: a rollout) or `schedule` (the client's own check,
   * update_check_interval_h). The server sends client.updated / client.update_failed for a
   * `schedule` one when the client's hello first reports its outcome; a rollout sends its own.
   * Absent from clients older than this field: treated as `server`.
   */
  trigger: z.enum(['server', 'schedule']).optional(),
});
export type LastUpdate = z.infer<typeof LastUpdate>;

export const UpdateApplyParams = z.object({
  version: z.string().regex(RELEASE_VERSION),
  /** release.json's exact bytes, base64 (what the signature covers). */
  manifest: z.string().max(Math.ceil((MAX_MANIFEST_BYTES * 4) / 3) + 4),
  /** release.json.minisig's text. */
  signature: z.string().max(4096),
  /**
   * How the executable arrives. `link` (default): over the client's own SSH link, on a
   * `reach-release` subsystem channel it opens (ReleaseFetchRequest; no extra port, no API key,
   * resumed from the partial file's size). `url`: an HTTP GET of `url` + the artifact's name
   * (resumed with a Range request), for operators who serve releases elsewhere (--release-url).
   */
  source: z.enum(['link', 'url']).default('link'),
  /**
   * With source `url`: the release's directory URL, ending in `/`
   * (`https://downloads.example/releases/1.4.0/`); the client appends the artifact's name.
   */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .refine((u) => u.endsWith('/'), 'the release directory URL ends in /')
    .optional(),
  /** Apply a version that is not newer than the running one. */
  force: z.boolean().default(false),
});
export type UpdateApplyParams = z.infer<typeof UpdateApplyParams>;

/**
 * The first frame on a `reach-release` channel (client → server): which artifact, from which
 * byte (the size of the partial file a cut-off try left). The server serves only artifacts the
 * version's release.json lists.
 */
export const ReleaseFetchRequest = z.object({
  version: z.string().regex(RELEASE_VERSION),
  name: z.string().regex(ARTIFACT_NAME),
  offset: z.number().int().nonnegative(),
});
export type ReleaseFetchRequest = z.infer<typeof ReleaseFetchRequest>;

/** The server's answer frame; with ok, the bytes offset..size follow as framed body chunks. */
export const ReleaseFetchAnswer = z.union([
  z.object({
    ok: z.literal(true),
    size: z.number().int().nonnegative(),
    offset: z.number().int().nonnegative(),
  }),
  z.object({ ok: z.literal(false), error: z.string().max(64), message: z.string().max(1024) }),
]);
export type ReleaseFetchAnswer = z.infer<typeof ReleaseFetchAnswer>;

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
