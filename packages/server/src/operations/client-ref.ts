import { type LinkMethod, type LinkParams, type LinkResult, ReachError } from '@reach/protocol';
import { z } from 'zod';
import type { ClientDetail } from '../clients/client-service.ts';
import type { ToolContext } from './operation-definition.ts';

/** `client_id` on any tool: a UUID, a client_id or a display name. */
export const ClientRef = z.string().min(1).max(200).describe('uuid, client_id or name; default: selected');

/** Online clients a NO_ACTIVE_CLIENT names at most (its `online_count` says how many there are). */
const NAMED_ONLINE = 5;

/** The client a tool acted on without being told which: named in its result. */
export interface AutoSelected {
  uuid: string;
  display_name: string;
}

/**
 * The client a remote tool acts on: the one named, else the session's selection, else the only
 * client online (clients such as the Inspector CLI open a session per call, so select_client
 * cannot help them); `auto` is set then. With several online and none chosen: NO_ACTIVE_CLIENT
 * listing them. Offline, unknown or quarantined clients fail here, before any work.
 */
export function targetClient(
  ref: string | undefined,
  ctx: ToolContext,
): { client: ClientDetail; auto?: AutoSelected } {
  const chosen = ref ?? ctx.session.selectedClient;
  if (chosen !== undefined) return { client: ctx.services.clients.resolveOnline(chosen) };
  // The registry's count decides; only a few online clients are named, never the fleet.
  const { count, sample: online } = ctx.services.clients.onlineSample(NAMED_ONLINE);
  const [only] = online;
  if (only !== undefined && count === 1) {
    return { client: ctx.services.clients.resolveOnline(only.uuid), auto: only };
  }
  throw new ReachError(
    'NO_ACTIVE_CLIENT',
    count === 0
      ? 'no client is online'
      : `${count} clients are online and none is selected in this session or named`,
    {
      details: { online, online_count: count },
      recoveryHint:
        'pass client_id, or call select_client first (find_client or list_clients to look one up)',
    },
  );
}

/** A client's stored rate-limit overrides in the limiter's terms. */
export function limitsOf(c: ClientDetail): { rpm?: number; concurrent?: number } {
  const limits: { rpm?: number; concurrent?: number } = {};
  if (c.rate_limit_rpm != null) limits.rpm = c.rate_limit_rpm;
  if (c.rate_limit_concurrent != null) limits.concurrent = c.rate_limit_concurrent;
  return limits;
}

/**
 * Runs `work` against the target client under its rate limits (RATE_LIMIT_EXCEEDED in enforce
 * mode; counted in warn mode). The concurrency slot is released however the work ends.
 */
export async function withClient<T>(
  ref: string | undefined,
  ctx: ToolContext,
  work: (client: ClientDetail) => Promise<T>,
): Promise<T> {
  const { client, auto } = targetClient(ref, ctx);
  ctx.touchedClient = client.uuid;
  const release = ctx.services.rateLimiter.acquire(client.uuid, limitsOf(client));
  try {
    const result = await work(client);
    // The caller did not say which client: the result does.
    if (auto !== undefined && typeof result === 'object' && result !== null && !Array.isArray(result)) {
      return { ...result, auto_selected_client: auto };
    }
    return result;
  } finally {
    release();
  }
}

/** Forwards one agent method to the target client, under its rate limits, cancelled with the call. */
export function callAgent<M extends LinkMethod>(
  ref: string | undefined,
  ctx: ToolContext,
  method: M,
  params: LinkParams<M>,
  timeoutMs: number,
): Promise<LinkResult<M>> {
  return withClient(ref, ctx, (client) =>
    ctx.services.clients.call(client.uuid, method, params, { signal: ctx.signal, timeoutMs }),
  );
}
