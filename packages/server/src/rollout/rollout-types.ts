import { z } from 'zod';

/** One client's place in a rollout. */
export const ClientUpdateState = z.enum([
  'pending',
  /** update_apply was sent: the client is fetching and verifying (download and checks are one call). */
  'downloading',
  /** The client swapped executables and is restarting into the new version. */
  'applied',
  /** It registered again reporting the new version. */
  'healthy',
  /** The new version did not register within the client's health window: the client restored the old one. */
  'rolled_back',
  /** Refused (bad signature, downgrade, no key…), unreachable, or not back in time. */
  'failed',
  /** Not updated: auto_update: false, already on the version, or offline when its batch came. */
  'skipped',
]);
export type ClientUpdateState = z.infer<typeof ClientUpdateState>;

export const RolloutClient = z.object({
  uuid: z.string(),
  display_name: z.string(),
  batch: z.number().int(),
  from: z.string().nullable(),
  state: ClientUpdateState,
  reason: z.string().optional(),
  /** rolled_back: the new version's last output lines, as the client reported them. */
  log_tail: z.string().optional(),
  updated_at: z.string(),
});
export type RolloutClient = z.infer<typeof RolloutClient>;

export const RolloutView = z.object({
  rollout_id: z.string(),
  version: z.string(),
  channel: z.string().nullable(),
  state: z.enum(['running', 'completed', 'halted']),
  batch_size: z.number().int(),
  max_failures: z.number().int(),
  failures: z.number().int(),
  /** Batches started so far. */
  batches_started: z.number().int(),
  created_at: z.string(),
  ended_at: z.string().nullable(),
  halted_reason: z.string().nullable(),
  clients: z.array(RolloutClient),
});
export type RolloutView = z.infer<typeof RolloutView>;
