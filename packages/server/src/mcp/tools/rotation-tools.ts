import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import type { KeyRotation } from '../../storage/key-rotation.ts';
import { defineTool, type ToolContext } from '../tool.ts';

function rotation(ctx: ToolContext): KeyRotation {
  const e = ctx.services.exchange;
  if (!e) throw new ReachError('ROTATION_NOT_CONFIGURED', 'key rotation is not configured on this server');
  return e.rotation;
}

export const rotationTools = [
  defineTool({
    name: 'r2_list_tokens',
    description: 'Cloudflare account API tokens (ids, names, dates).',
    input: z.object({}),
    handler: (_args, ctx) => rotation(ctx).list(ctx.signal),
  }),

  defineTool({
    name: 'r2_rotate_keys',
    description:
      'New bucket-scoped R2 token, used at once and stored (0600); the old one deleted unless keep_old.',
    input: z.object({
      old_access_key_id: z.string().min(1).max(256).optional(),
      keep_old: z.boolean().default(false),
    }),
    handler: (args, ctx) =>
      rotation(ctx).rotate({ oldAccessKeyId: args.old_access_key_id, keepOld: args.keep_old }, ctx.signal),
  }),

  defineTool({
    name: 'r2_check_rotation_status',
    description: 'Days since the last R2 key rotation; whether one is due.',
    input: z.object({ rotation_days: z.number().int().min(1).max(365).default(90) }),
    handler: async (args, ctx) => rotation(ctx).status(args.rotation_days),
  }),
];
