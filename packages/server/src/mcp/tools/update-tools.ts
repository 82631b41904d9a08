import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';
import { ReleaseChannelSchema } from '../../releases/release-channels.ts';
import { RolloutView } from '../../rollout/rollout-types.ts';

function rollouts(ctx: ToolContext) {
  const r = ctx.services.rollouts;
  if (!r) throw new ReachError('INTERNAL_ERROR', 'client updates are not set up on this server');
  return r;
}

export const updateTools = [
  defineTool({
    name: 'update_clients',
    description:
      'Roll a signed release out in batches: each batch starts once the last is back healthy or failed; ' +
      'halts at max_failures. Poll update_status.',
    input: z.object({
      version: z.string().max(64).optional().describe('or latest; default: channel (stable)'),
      channel: ReleaseChannelSchema.optional(),
      target: z
        .object({
          client_ids: z.array(z.string().max(128)).max(10_000).optional(),
          tags: z.array(z.string().max(64)).max(64).optional(),
          all: z.boolean().optional(),
        })
        .refine(
          (t) => t.all || (t.client_ids?.length ?? 0) > 0 || (t.tags?.length ?? 0) > 0,
          'name client_ids, tags or all',
        ),
      batch_size: z.number().int().min(1).max(1000).default(10),
      max_failures: z.number().int().min(1).max(10_000).default(1),
      force: z.boolean().default(false).describe('allow versions not newer than the client'),
    }),
    result: RolloutView,
    errors: ['CLIENT_NOT_FOUND', 'FILE_NOT_FOUND'],
    handler: (args, ctx) => rollouts(ctx).start(args),
  }),

  defineTool({
    name: 'update_status',
    description:
      'Per-client state of a rollout (default: all since start): pending, downloading, applied, healthy, ' +
      'rolled_back, failed, skipped; reason, log_tail.',
    input: z.object({ rollout_id: z.string().max(64).optional() }),
    result: z.object({ rollouts: z.array(RolloutView) }),
    errors: [],
    handler: async ({ rollout_id }, ctx) => ({ rollouts: rollouts(ctx).status(rollout_id) }),
  }),
];
