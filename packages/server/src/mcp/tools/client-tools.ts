import { AbsolutePath } from '@reach/protocol';
import { z } from 'zod';
import { MAX_CURSOR_CHARS } from '../../clients/client-cursor.ts';
import type { ClientDetail, ClientPageRequest, ClientView } from '../../clients/client-service.ts';
import { limitsOf } from '../../operations/client-ref.ts';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';
import { fitPage } from './fit-page.ts';
import { ClientDetailResult, ClientViewResult, RateLimitStatsResult } from './result-schemas.ts';

/** Client management tools: list, select, find, describe, update, accept_key, configure, rate stats. */
const Uuid = z.string().min(1).max(200).describe('client UUID, client_id or display name');

function withSelection<T extends ClientView>(c: T, ctx: ToolContext): T & { is_selected: boolean } {
  return { ...c, is_selected: c.uuid === ctx.session.selectedClient };
}

/** Paging parameters of list_clients and find_client. */
const PagingInput = {
  online_only: z.boolean().default(false),
  limit: z.number().int().min(1).max(1000).default(100),
  // No description: `cursor` beside result's next_cursor says it (tools/list costs every caller).
  cursor: z.string().max(MAX_CURSOR_CHARS).optional(),
};
const PageResult = {
  next_cursor: z.string().nullable().describe('pass as cursor for the next page; null on the last'),
  total: z.number().int().describe('matching, all pages'),
  online: z.number().int().describe('of those, online'),
};

/** One page for `req`, cut to the result cap, each client marked if this session selected it. */
function listPage(ctx: ToolContext, req: ClientPageRequest) {
  const clients = ctx.services.clients;
  const page = clients.page(req);
  const fitted = fitPage(page, ctx.services.maxResultBytes, (last) => clients.cursorAfter(req, last));
  return { ...page, ...fitted, clients: fitted.clients.map((c) => withSelection(c, ctx)) };
}

export const clientTools = [
  defineTool({
    name: 'list_clients',
    description: 'List known clients, online first; paged.',
    input: z.object(PagingInput),
    result: z.object({
      clients: z.array(ClientViewResult),
      active_client: z.string().nullable(),
      online_count: z.number().int().describe('online in the whole fleet'),
      total_count: z.number().int().describe('known in the whole fleet'),
      ...PageResult,
    }),
    errors: [],
    handler: async (args, ctx) => {
      const page = listPage(ctx, { online_only: args.online_only, limit: args.limit, cursor: args.cursor });
      const counts = ctx.services.clients.counts();
      return {
        clients: page.clients,
        active_client: ctx.session.selectedClient ?? null,
        online_count: counts.online,
        total_count: counts.total,
        next_cursor: page.next_cursor,
        total: page.total,
        online: page.online,
      };
    },
  }),

  defineTool({
    name: 'select_client',
    description: "Select the online client this session's tools act on by default.",
    input: z.object({ client_id: Uuid }),
    result: z.object({
      selected: z.object({ uuid: z.string(), display_name: z.string(), hostname: z.string().nullable() }),
      message: z.string(),
    }),
    errors: ['CLIENT_NOT_FOUND', 'SSH_KEY_MISMATCH'],
    handler: async ({ client_id }, ctx) => {
      const c = ctx.services.clients.resolveOnline(client_id);
      ctx.touchedClient = c.uuid;
      ctx.session.selectedClient = c.uuid;
      return {
        selected: { uuid: c.uuid, display_name: c.display_name, hostname: c.hostname ?? null },
        message: `selected ${c.display_name} (${c.uuid})`,
      };
    },
  }),

  defineTool({
    name: 'find_client',
    description: 'Find clients; filters combine with AND, case-insensitive.',
    input: z.object({
      query: z.string().max(200).optional().describe('substring of name, purpose, hostname or tag'),
      purpose: z.string().max(200).optional(),
      tags: z.array(z.string().max(64)).max(64).optional().describe('all of'),
      capabilities: z.array(z.string().max(64)).max(64).optional().describe('all of'),
      ...PagingInput,
    }),
    result: z.object({
      clients: z.array(ClientViewResult),
      count: z.number().int().describe('clients in this page'),
      ...PageResult,
    }),
    errors: [],
    handler: async ({ online_only, limit, cursor, ...filter }, ctx) => {
      const page = listPage(ctx, { filter, online_only, limit, cursor });
      return {
        clients: page.clients,
        count: page.clients.length,
        next_cursor: page.next_cursor,
        total: page.total,
        online: page.online,
      };
    },
  }),

  defineTool({
    name: 'describe_client',
    description: 'Full details of one client, including key fingerprints and settings.',
    input: z
      .object({ uuid: Uuid.optional(), client_id: Uuid.optional() })
      .refine((a) => a.uuid !== undefined || a.client_id !== undefined, 'uuid or client_id is required'),
    result: ClientDetailResult,
    errors: ['CLIENT_NOT_FOUND'],
    handler: async (args, ctx) => {
      const c = ctx.services.clients.resolve((args.uuid ?? args.client_id)!);
      ctx.touchedClient = c.uuid;
      return withSelection(c, ctx);
    },
  }),

  defineTool({
    name: 'update_client',
    description: 'Edit display_name, purpose, tags or allowed_paths; null clears a field.',
    input: z.object({
      uuid: Uuid,
      display_name: z.string().trim().min(1).max(100).nullable().optional(),
      purpose: z.string().max(200).nullable().optional(),
      tags: z.array(z.string().trim().min(1).max(64)).max(64).nullable().optional().describe('replaces'),
      allowed_paths: z
        .array(AbsolutePath)
        .max(256)
        .nullable()
        .optional()
        .describe("absolute prefixes; they narrow the client's own allowed_paths, never widen them"),
    }),
    result: z.object({ updated: ClientDetailResult, message: z.string() }),
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ uuid, ...patch }, ctx) => {
      const target = ctx.services.clients.resolve(uuid);
      ctx.touchedClient = target.uuid;
      const updated = await ctx.services.clients.update(target.uuid, patch);
      return { updated: withSelection(updated, ctx), message: `updated ${updated.display_name}` };
    },
  }),

  defineTool({
    name: 'accept_key',
    description: "Accept a client's new SSH key after a legitimate change; lifts the quarantine.",
    input: z.object({ uuid: Uuid }),
    result: z.object({
      accepted: z.object({
        uuid: z.string(),
        public_key_fingerprint: z.string(),
        key_mismatch: z.literal(false),
      }),
      message: z.string(),
    }),
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ uuid }, ctx) => {
      const target = ctx.services.clients.resolve(uuid);
      ctx.touchedClient = target.uuid;
      const c: ClientDetail = ctx.services.clients.acceptKey(target.uuid);
      return {
        accepted: { uuid: c.uuid, public_key_fingerprint: c.public_key_fingerprint, key_mismatch: false },
        message: `accepted the new key of ${c.display_name}`,
      };
    },
  }),

  defineTool({
    name: 'configure_client',
    description: 'Set per-client webhook URL ("" clears) and rate limits.',
    input: z.object({
      uuid: Uuid,
      webhook_url: z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(2000)]).optional(),
      rate_limit_rpm: z.number().int().min(1).max(1000).optional(),
      rate_limit_concurrent: z.number().int().min(1).max(100).optional(),
    }),
    result: z.object({
      configured: z.string(),
      webhook_url: z.string().nullable(),
      rate_limit_rpm: z.number().int().nullable(),
      rate_limit_concurrent: z.number().int().nullable(),
      message: z.string(),
    }),
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ uuid, webhook_url, rate_limit_rpm, rate_limit_concurrent }, ctx) => {
      const target = ctx.services.clients.resolve(uuid);
      ctx.touchedClient = target.uuid;
      const patch: { webhook_url?: string | null; rate_limit_rpm?: number; rate_limit_concurrent?: number } =
        {};
      if (webhook_url !== undefined) patch.webhook_url = webhook_url === '' ? null : webhook_url;
      if (rate_limit_rpm !== undefined) patch.rate_limit_rpm = rate_limit_rpm;
      if (rate_limit_concurrent !== undefined) patch.rate_limit_concurrent = rate_limit_concurrent;
      const c = ctx.services.clients.configure(target.uuid, patch);
      return {
        configured: c.uuid,
        webhook_url: c.webhook_url,
        rate_limit_rpm: c.rate_limit_rpm,
        rate_limit_concurrent: c.rate_limit_concurrent,
        message: `configured ${c.display_name}`,
      };
    },
  }),

  defineTool({
    name: 'get_rate_limit_stats',
    description: "A client's current request rate, concurrency, limits and warning counts.",
    input: z.object({ uuid: Uuid }),
    result: z.object({ uuid: z.string(), stats: RateLimitStatsResult }),
    errors: ['CLIENT_NOT_FOUND'],
    handler: async ({ uuid }, ctx) => {
      const c = ctx.services.clients.resolve(uuid);
      ctx.touchedClient = c.uuid;
      return { uuid: c.uuid, stats: ctx.services.rateLimiter.stats(c.uuid, limitsOf(c)) };
    },
  }),
];
