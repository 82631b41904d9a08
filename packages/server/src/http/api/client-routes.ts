import { z } from 'zod';
import type { Operations } from '../../operations/operations.ts';
import { type ApiRoute, apiRoute, Limit, UuidParams } from './api-route.ts';
import { callTool, defined } from './call-tool.ts';
import type { UnhealthyClients } from './client-status.ts';

export interface ClientRouteDeps {
  operations: Operations;
  unhealthy: UnhealthyClients;
}

/** Pages one GET /api/clients with a status filter reads at most. */
const MAX_SCANS = 20;

const Status = z.enum(['online', 'offline', 'unhealthy', 'quarantined']);

/** A tool's result schema (docs.test.ts requires one of every tool), for the OpenAPI document. */
export function resultOf(operations: Operations, tool: string): z.ZodType {
  return operations.definitions.find((t) => t.name === tool)?.result ?? z.unknown();
}

type Listed = { uuid: string; online: boolean; key_mismatch: boolean };

/** /api/clients: list, describe, edit, accept a key: find_client, describe_client, update_client… */
export function clientRoutes(d: ClientRouteDeps): ApiRoute[] {
  const ops = d.operations;
  return [
    apiRoute({
      method: 'get',
      path: '/clients',
      summary: 'Clients, online first, with status; q searches name, purpose, hostname and tags',
      query: z.object({
        q: z.string().max(200).optional(),
        status: Status.optional(),
        tag: z.string().max(64).optional(),
        limit: Limit.default(100),
        cursor: z.string().max(4096).optional(),
      }),
      response: z.object({
        clients: z.array(z.looseObject({ uuid: z.string(), status: Status })),
        next_cursor: z.string().nullable(),
        total: z.number().int(),
        online: z.number().int(),
      }),
      handler: async ({ query, caller, signal }) => {
        const online = query.status === 'online' || query.status === 'unhealthy';
        type Page = { clients: Listed[]; next_cursor: string | null; total: number; online: number };
        const fetchPage = (limit: number, cursor: string | undefined) =>
          callTool(
            ops,
            'find_client',
            defined({
              query: query.q,
              tags: query.tag === undefined ? undefined : [query.tag],
              online_only: online,
              limit,
              cursor,
            }),
            { caller, signal },
          ) as Promise<Page>;
        // offline/unhealthy/quarantined are not store filters: pages are read and narrowed, each
        // asking only for what is still missing, so the answer holds at most `limit` and its cursor
        // continues right after the last client looked at. At most MAX_SCANS pages per request
        // (then the cursor says where to go on).
        const clients: Array<Listed & { status: string }> = [];
        let cursor = query.cursor;
        let first: Page | undefined;
        let next: string | null = null;
        for (let scan = 0; scan < MAX_SCANS && clients.length < query.limit; scan++) {
          const page = await fetchPage(query.limit - clients.length, cursor);
          first ??= page;
          for (const c of page.clients) {
            const status = d.unhealthy.statusOf(c);
            if (query.status === undefined || status === query.status) clients.push({ ...c, status });
          }
          next = page.next_cursor;
          if (next === null) break;
          cursor = next;
        }
        const search = first ?? { total: 0, online: 0 };
        // `total`: clients matching the search and status, where the store can count them.
        const total = query.status === 'offline' ? search.total - search.online : search.total;
        return { clients, next_cursor: next, total, online: search.online };
      },
    }),
    apiRoute({
      method: 'get',
      path: '/clients/:uuid',
      summary: "A client's details (describe_client)",
      params: UuidParams,
      response: resultOf(ops, 'describe_client'),
      handler: async ({ params, caller, signal }) => {
        const c = (await callTool(
          ops,
          'describe_client',
          { uuid: params.uuid },
          { caller, signal },
        )) as Listed;
        return { ...c, status: d.unhealthy.statusOf(c) };
      },
    }),
    apiRoute({
      method: 'patch',
      path: '/clients/:uuid',
      summary: "Edit a client's metadata (update_client) and settings (configure_client)",
      params: UuidParams,
      body: z.object({
        display_name: z.string().nullable().optional(),
        purpose: z.string().nullable().optional(),
        tags: z.array(z.string()).nullable().optional(),
        allowed_paths: z.array(z.string()).nullable().optional(),
        webhook_url: z.string().optional(),
        rate_limit_rpm: z.number().int().optional(),
        rate_limit_concurrent: z.number().int().optional(),
      }),
      response: resultOf(ops, 'describe_client'),
      handler: async ({ params, body, caller, signal }) => {
        const who = { caller, signal };
        const { webhook_url, rate_limit_rpm, rate_limit_concurrent, ...meta } = body;
        const metaArgs = defined(meta);
        if (Object.keys(metaArgs).length > 0) {
          await callTool(ops, 'update_client', { uuid: params.uuid, ...metaArgs }, who);
        }
        const conf = defined({ webhook_url, rate_limit_rpm, rate_limit_concurrent });
        if (Object.keys(conf).length > 0)
          await callTool(ops, 'configure_client', { uuid: params.uuid, ...conf }, who);
        const c = (await callTool(ops, 'describe_client', { uuid: params.uuid }, who)) as Listed;
        return { ...c, status: d.unhealthy.statusOf(c) };
      },
    }),
    apiRoute({
      method: 'post',
      path: '/clients/:uuid/accept-key',
      summary: "Accept a client's new SSH key (accept_key); answers the client as GET does",
      params: UuidParams,
      response: resultOf(ops, 'describe_client'),
      handler: async ({ params, caller, signal }) => {
        await callTool(ops, 'accept_key', { uuid: params.uuid }, { caller, signal });
        const c = (await callTool(
          ops,
          'describe_client',
          { uuid: params.uuid },
          { caller, signal },
        )) as Listed;
        return { ...c, status: d.unhealthy.statusOf(c) };
      },
    }),
    apiRoute({
      method: 'post',
      path: '/clients/:uuid/commands',
      summary: 'Run a shell command (run_command)',
      params: UuidParams,
      body: z.object({
        cmd: z.string(),
        cwd: z.string().optional(),
        timeout: z.number().optional(),
        wait: z.number().optional(),
        env: z.record(z.string(), z.string()).optional(),
      }),
      response: resultOf(ops, 'run_command'),
      handler: ({ params, body, caller, signal }) =>
        callTool(ops, 'run_command', { ...defined(body), client_id: params.uuid }, { caller, signal }),
    }),
    apiRoute({
      method: 'get',
      path: '/clients/:uuid/files',
      summary: 'List a directory (list_files)',
      params: UuidParams,
      query: z.object({ path: z.string().min(1).max(4096) }),
      response: resultOf(ops, 'list_files'),
      handler: ({ params, query, caller, signal }) =>
        callTool(ops, 'list_files', { path: query.path, client_id: params.uuid }, { caller, signal }),
    }),
    apiRoute({
      method: 'get',
      path: '/clients/:uuid/metrics',
      summary: 'CPU, memory, disk, network now (get_client_metrics)',
      params: UuidParams,
      query: z.object({ summary: z.enum(['true', 'false']).default('false') }),
      response: resultOf(ops, 'get_client_metrics'),
      handler: ({ params, query, caller, signal }) =>
        callTool(
          ops,
          'get_client_metrics',
          { summary: query.summary === 'true', client_id: params.uuid },
          { caller, signal },
        ),
    }),
  ];
}
