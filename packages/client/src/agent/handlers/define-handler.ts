import { ReachError, type RpcHandler, type RpcRequestContext } from '@reach/protocol';
import type { z } from 'zod';

/**
 * Wraps a method implementation so params are validated with the method's schema first; a bad
 * request becomes INVALID_ARGUMENT naming the offending field.
 */
export function defineHandler<S extends z.ZodType>(
  schema: S,
  run: (params: z.infer<S>, ctx: RpcRequestContext) => Promise<unknown>,
): RpcHandler {
  return async (params, ctx) => {
    const parsed = schema.safeParse(params);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') ?? '';
      throw new ReachError(
        'INVALID_ARGUMENT',
        `${field ? `${field}: ` : ''}${issue?.message ?? 'invalid params'}`,
        {
          details: {
            issues: parsed.error.issues.slice(0, 5).map((i) => ({ path: i.path, message: i.message })),
          },
        },
      );
    }
    return run(parsed.data, ctx);
  };
}
