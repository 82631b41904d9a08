import { AbsolutePath } from '@reach/protocol';
import { z } from 'zod';
import type { ClientDetail, ClientView } from '../../clients/client-service.ts';
import { defineTool, type ToolContext } from '../tool.ts';
import { limitsOf } from './client-ref.ts';
import { ClientDetailResult, ClientViewResult, RateLimitStatsResult } from './result-schemas.ts';

/** Client management tools: list, select, find, describe, update, accept_key, configure, rate stats. */
const Uuid = z.string().min(1).max(200).describe('client UUID, client_id or display name');

function withSelection<T extends ClientView>(c: T, ctx: ToolContext): T & { is_selected: boolean } {
  return { ...c, is_selected: c.uuid === ctx.session.selectedClient };
}

function includesCi(haystack: string | undefined | null, needle: string): boolean {
  return (haystack ?? '').toLowerCase().includes(needle);
}

export const clientTools = [
  defineTool({
    name: 'list_clients',
    description: 'List all known clients, online first.',
    input: z.object({}),
    result: z.object({
      clients: z.array(ClientViewResult),
      active_client: z.string().nullable(),
      online_count: z.number().int(),
      total_count: z.number().int(),
    }),
    errors: [],
    handler: async (_args, ctx) => {
      const clients = ctx.services.clients.list().map((c) => withSelection(c, ctx));
      const counts = ctx.services.clients.counts();
      return {
        clients,
        active_client: ctx.session.selectedClient ?? null,
        online_count: counts.online,
        total_count: counts.total,
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
      online_only: z.boolean().default(false),
    }),
    result: z.object({ clients: z.array(ClientViewResult), count: z.number().int() }),
    errors: [],
    handler: async (args, ctx) => {
      const query = args.query?.toLowerCase();
      const purpose = args.purpose?.toLowerCase();
      const tags = args.tags?.map((t) => t.toLowerCase()) ?? [];
      const caps = args.capabilities?.map((t) => t.toLowerCase()) ?? [];
      const clients = ctx.services.clients.list().filter((c) => {
        if (args.online_only && !c.online) return false;
        if (purpose !== undefined && !includesCi(c.purpose, purpose)) return false;
        const ownTags = c.tags.map((t) => t.toLowerCase());
        if (!tags.every((t) => ownTags.includes(t))) return false;
        const ownCaps = c.capabilities.map((t) => t.toLowerCase());
        if (!caps.every((t) => ownCaps.includes(t))) return false;
        if (query !== undefined) {
          const hit =
            includesCi(c.display_name, query) ||
            includesCi(c.purpose, query) ||
            includesCi(c.hostname, query) ||
            ownTags.some((t) => t.includes(query));
          if (!hit) return false;
        }
        return true;
      });
      return { clients: clients.map((c) => withSelection(c, ctx)), count: clients.length };
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
