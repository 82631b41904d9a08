import { ReachError } from '@reach/protocol';
import { z } from 'zod';
import { defineTool } from '../../operations/operation-definition.ts';
import { AuditRecordResult } from './result-schemas.ts';

export const auditTools = [
  defineTool({
    name: 'get_audit_log',
    description: 'Audit entries (who ran which tool on which client), newest first; cursor: next_cursor.',
    input: z.object({
      client_id: z.string().min(1).max(200).optional(),
      tool: z.string().max(64).optional(),
      caller: z.string().max(200).optional(),
      outcome: z.string().max(64).optional().describe('OK or an error code'),
      since: z.string().max(40).optional().describe('ISO 8601 time'),
      until: z.string().max(40).optional(),
      limit: z.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(64).optional(),
    }),
    result: z.object({
      entries: z.array(AuditRecordResult),
      count: z.number().int(),
      next_cursor: z.string().nullable(),
    }),
    errors: [],
    handler: async ({ client_id, tool, caller, outcome, since, until, limit, cursor }, ctx) => {
      const page = ctx.services.audit.page({
        ...(client_id === undefined ? {} : { client: client_id }),
        ...(tool === undefined ? {} : { tool }),
        ...(caller === undefined ? {} : { caller }),
        ...(outcome === undefined ? {} : { outcome }),
        ...(since === undefined ? {} : { since: isoMs('since', since) }),
        ...(until === undefined ? {} : { until: isoMs('until', until) }),
        ...(cursor === undefined ? {} : { cursor }),
        limit,
      });
      return { entries: page.entries, count: page.entries.length, next_cursor: page.next_cursor };
    },
  }),
];

function isoMs(name: string, value: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new ReachError('INVALID_ARGUMENT', `${name}: not an ISO 8601 time: ${value}`);
  return ms;
}
