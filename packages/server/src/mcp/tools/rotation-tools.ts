import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';
import type { KeyRotation } from '../../storage/key-rotation.ts';

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
    result: z.object({
      tokens: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          created_on: z.string().nullable(),
          status: z.string().nullable(),
        }),
      ),
      count: z.number().int(),
    }),
    errors: ['ROTATION_NOT_CONFIGURED', 'CONNECTION_ERROR', 'PERMISSION_DENIED', 'CANCELLED'],
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
    result: z.object({ new_access_key_id: z.string(), old_token_deleted: z.boolean(), message: z.string() }),
    errors: [
      'ROTATION_NOT_CONFIGURED',
      'R2_NOT_CONFIGURED',
      'CONNECTION_ERROR',
      'PERMISSION_DENIED',
      'CANCELLED',
    ],
    handler: (args, ctx) =>
      rotation(ctx).rotate({ oldAccessKeyId: args.old_access_key_id, keepOld: args.keep_old }, ctx.signal),
  }),

  defineTool({
    name: 'r2_check_rotation_status',
    description: 'Days since the last R2 key rotation; whether one is due.',
    input: z.object({ rotation_days: z.number().int().min(1).max(365).default(90) }),
    result: z.object({
      last_rotation: z.string().nullable(),
      days_since_rotation: z.number().int().nullable(),
      rotation_due: z.boolean(),
      next_rotation_in_days: z.number().int(),
    }),
    errors: ['ROTATION_NOT_CONFIGURED'],
    handler: async (args, ctx) => rotation(ctx).status(args.rotation_days),
  }),
];
