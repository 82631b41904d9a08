import { z } from 'zod';
import type { CommandHistoryStore } from '../../db/command-history-store.ts';
import type { MetricsHistoryStore } from '../../db/metrics-history-store.ts';
import type { Operations } from '../../operations/operations.ts';
import { type ApiRoute, apiRoute, IsoTime, Limit, UuidParams } from './api-route.ts';
import { callTool, defined } from './call-tool.ts';
import { resultOf } from './client-routes.ts';

export interface HistoryRouteDeps {
  operations: Operations;
  history: Pick<CommandHistoryStore, 'query'>;
  metrics: Pick<MetricsHistoryStore, 'range'>;
  webhooks: { stats(): { pending: number; dead: number; inFlight: number } };
}

const Num = z.number().nullable();
const HistoryRow = z.object({
  id: z.number().int(),
  at: z.string(),
  caller: z.string(),
  source: z.string(),
  client_uuid: z.string(),
  client_name: z.string().nullable(),
  cmd: z.string(),
  cwd: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  outcome: z.string(),
  duration_ms: z.number().int(),
  job_id: z.string().nullable(),
});

/** Command history, metrics history, the audit log and the webhook outbox. */
export function historyRoutes(d: HistoryRouteDeps): ApiRoute[] {
  return [
    apiRoute({
      method: 'get',
      path: '/history',
      summary:
        'Commands run on clients, newest first; q: full-text over the command (every word, as a prefix)',
      query: z.object({
        q: z.string().max(1000).optional(),
        client: z.string().max(200).optional(),
        exit_code: z.coerce.number().int().optional(),
        caller: z.string().max(200).optional(),
        since: IsoTime.optional(),
        until: IsoTime.optional(),
        limit: Limit.default(100),
        cursor: z.string().max(40).optional(),
      }),
      response: z.object({ commands: z.array(HistoryRow), next_cursor: z.string().nullable() }),
      handler: async ({ query }) => d.history.query(query),
    }),
    apiRoute({
      method: 'get',
      path: '/clients/:uuid/metrics/history',
      summary: "A client's sampled metrics in [since, until) (default: the last hour), oldest first",
      params: UuidParams,
      query: z.object({ since: IsoTime.optional(), until: IsoTime.optional() }),
      response: z.object({
        samples: z.array(
          z.object({
            at: z.string(),
            cpu_percent: Num,
            memory_percent: Num,
            disk_percent: Num,
            net_rx_bps: Num,
            net_tx_bps: Num,
          }),
        ),
      }),
      handler: async ({ params, query, caller, signal }) => {
        // Resolves a client_id or name to the uuid (and 404s an unknown one) like every client route.
        const c = (await callTool(
          d.operations,
          'describe_client',
          { uuid: params.uuid },
          { caller, signal },
        )) as {
          uuid: string;
        };
        const until = query.until ?? Date.now() + 1;
        const since = query.since ?? until - 3_600_000;
        const samples = d.metrics.range(c.uuid, since, until).map(({ at_ms, ...v }) => ({
          at: new Date(at_ms).toISOString(),
          ...v,
        }));
        return { samples };
      },
    }),
    apiRoute({
      method: 'get',
      path: '/audit',
      summary: 'Audit entries, newest first (get_audit_log)',
      query: z.object({
        client: z.string().max(200).optional(),
        tool: z.string().max(64).optional(),
        caller: z.string().max(200).optional(),
        outcome: z.string().max(64).optional(),
        since: z.string().max(40).optional(),
        until: z.string().max(40).optional(),
        limit: Limit.default(100),
        cursor: z.string().max(64).optional().describe('next_cursor of the previous page'),
      }),
      response: z.object({ rows: z.array(z.unknown()), next_cursor: z.string().nullable() }),
      handler: async ({ query, caller, signal }) => {
        const r = (await callTool(
          d.operations,
          'get_audit_log',
          defined({
            client_id: query.client,
            tool: query.tool,
            caller: query.caller,
            outcome: query.outcome,
            since: query.since,
            until: query.until,
            limit: query.limit,
            cursor: query.cursor,
          }),
          { caller, signal },
        )) as { entries: unknown[]; next_cursor: string | null };
        return { rows: r.entries, next_cursor: r.next_cursor };
      },
    }),
    apiRoute({
      method: 'get',
      path: '/webhooks',
      summary: 'Webhook outbox: events waiting, dead (retries spent), in flight',
      response: z.object({ pending: z.number().int(), dead: z.number().int(), in_flight: z.number().int() }),
      handler: async () => {
        const s = d.webhooks.stats();
        return { pending: s.pending, dead: s.dead, in_flight: s.inFlight };
      },
    }),
  ];
}

export { resultOf };
