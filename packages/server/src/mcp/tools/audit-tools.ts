import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import { defineTool } from '../../operations/operation-definition.ts';
import { AuditRecordResult } from './result-schemas.ts';

export const auditTools = [
  defineTool({
    name: 'get_audit_log',
    description: 'Recent audit entries (who ran which tool on which client), newest first.',
    input: z.object({
      client_id: z.string().min(1).max(200).optional(),
      tool: z.string().max(64).optional(),
      since: z.string().max(40).optional().describe('ISO 8601 time'),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
    result: z.object({ entries: z.array(AuditRecordResult), count: z.number().int() }),
    errors: [],
    handler: async ({ client_id, tool, since, limit }, ctx) => {
      const sinceMs = since === undefined ? undefined : Date.parse(since);
      if (sinceMs !== undefined && Number.isNaN(sinceMs)) {
        throw new ReachError('INVALID_ARGUMENT', `since: not an ISO 8601 time: ${since}`);
      }
      const entries = ctx.services.audit.query({
        ...(client_id === undefined ? {} : { client: client_id }),
        ...(tool === undefined ? {} : { tool }),
        ...(sinceMs === undefined ? {} : { since: sinceMs }),
        limit,
      });
      return { entries, count: entries.length };
    },
  }),
];
