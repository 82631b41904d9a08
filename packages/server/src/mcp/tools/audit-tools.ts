import { z } from 'zod';
import { defineTool } from '../tool.ts';

export const auditTools = [
  defineTool({
    name: 'get_audit_log',
    description: 'Recent audit entries (who ran which tool on which client), newest first.',
    input: z.object({
      client_id: z.string().min(1).max(200).optional().describe('UUID, client_id or display name'),
      tool: z.string().max(64).optional(),
      since: z.iso.datetime({ offset: true }).optional().describe('ISO 8601'),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
    handler: async ({ client_id, tool, since, limit }, ctx) => {
      const entries = ctx.services.audit.query({
        ...(client_id === undefined ? {} : { client: client_id }),
        ...(tool === undefined ? {} : { tool }),
        ...(since === undefined ? {} : { since: Date.parse(since) }),
        limit,
      });
      return { entries, count: entries.length };
    },
  }),
];
