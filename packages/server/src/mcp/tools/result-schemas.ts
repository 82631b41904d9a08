import { type ErrorCode, LINK_METHODS, type LinkMethod, TransferKind } from '@reach/protocol';
import { z } from 'zod';

/**
 * What each tool's handler returns, as zod schemas: docs/tools.md prints them (`npm run docs`) and
 * the MCP end-to-end tests parse every result with them, so the reference cannot drift from the
 * code. They never reach tools/list (tool-listing.ts sends inputs only: an outputSchema would add
 * about 10 KB to every session's first call).
 */

/** The client a tool picked because exactly one was online and none was named (client-ref.ts). */
export const AutoSelectedClient = z.object({ uuid: z.string(), display_name: z.string() });
const auto = { auto_selected_client: AutoSelectedClient.optional() };

/** An agent method's reply as a tool relays it through withClient/callAgent (auto selection added). */
export function relayed<M extends LinkMethod>(method: M): z.ZodType {
  const schema: z.ZodType = LINK_METHODS[method].result;
  if (schema instanceof z.ZodObject) return schema.extend(auto);
  if (schema instanceof z.ZodUnion) {
    return z.union(
      (schema.options as z.ZodType[]).map((o) => (o instanceof z.ZodObject ? o.extend(auto) : o)),
    );
  }
  return schema;
}

/** Errors of reaching one online client over its link (client-ref.ts, client-service.ts, agent RPC). */
export const LINK_ERRORS: readonly ErrorCode[] = [
  'NO_ACTIVE_CLIENT',
  'CLIENT_NOT_FOUND',
  'SSH_KEY_MISMATCH',
  'RATE_LIMIT_EXCEEDED',
  'CONNECTION_ERROR',
  'TIMEOUT',
  'CANCELLED',
];

const ConnectionInfo = z.object({
  client_id: z.string(),
  hostname: z.string(),
  platform: z.string(),
  username: z.string(),
  connected_at: z.string(),
});

/** clients/client-view.ts ClientView, plus the session's `is_selected`. */
export const ClientViewResult = z.object({
  uuid: z.string(),
  display_name: z.string(),
  purpose: z.string(),
  tags: z.array(z.string()),
  capabilities: z.array(z.string()),
  online: z.boolean(),
  last_seen: z.string().nullable(),
  first_seen: z.string(),
  connection_count: z.number().int(),
  key_mismatch: z.boolean(),
  hostname: z.string().optional(),
  platform: z.string().optional(),
  username: z.string().optional(),
  client_id: z.string().optional(),
  is_selected: z.boolean(),
});

/** clients/client-view.ts ClientDetail, plus `is_selected`. */
export const ClientDetailResult = ClientViewResult.extend({
  public_key_fingerprint: z.string(),
  previous_fingerprint: z.string().nullable(),
  pending_fingerprint: z.string().nullable(),
  quarantined: z.boolean(),
  allowed_paths: z.array(z.string()),
  webhook_url: z.string().nullable(),
  rate_limit_rpm: z.number().int().nullable(),
  rate_limit_concurrent: z.number().int().nullable(),
  current_connection: ConnectionInfo.optional(),
  last_connection: ConnectionInfo.optional(),
});

/** rate-limit/rate-limiter.ts RateLimitStats. */
export const RateLimitStatsResult = z.object({
  requests_per_minute: z.number().int(),
  current_concurrent: z.number().int(),
  rpm_limit: z.number().int(),
  concurrent_limit: z.number().int(),
  rpm_warnings: z.number().int(),
  concurrent_warnings: z.number().int(),
  mode: z.enum(['warn', 'enforce']),
});

/** audit/audit-log.ts AuditRecord. */
export const AuditRecordResult = z.object({
  id: z.number().int(),
  time: z.string(),
  caller: z.string(),
  client_uuid: z.string().nullable(),
  client_name: z.string().nullable(),
  tool: z.string(),
  arguments: z.unknown(),
  outcome: z.string(),
  duration_ms: z.number(),
});

/** transfer/transfer-service.ts TransferSummary. */
const TransferSummary = {
  kind: TransferKind,
  size: z.number().int().nonnegative(),
  sha256: z.string(),
  duration_ms: z.number(),
  throughput_mib_s: z.number(),
  method: z.enum(['ssh-stream', 'ssh-stream-tar']),
  resumed_from: z.number().int().nonnegative(),
  bytes_transferred: z.number().int().nonnegative(),
  entries: z.number().int().nonnegative().optional(),
  local_path: z.string(),
  ...auto,
};
export const UploadResult = z.object({ uploaded: z.string(), ...TransferSummary });
export const DownloadResult = z.object({ downloaded: z.string(), ...TransferSummary });

/** storage/exchange-service.ts upload(). */
export const ExchangeUploadResult = z.object({
  transfer_id: z.string(),
  key: z.string(),
  download_url: z.string(),
  expires_at: z.string(),
  object_expires_at: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string(),
  filename: z.string(),
  source_client: z.string().describe('uploader uuid or "server"'),
  dest_client: z.string().nullable(),
  state: z.string().describe('stored, pending, delivered or failed'),
  ...auto,
});

/** storage/exchange-service.ts download(): to a client (client_path) or the server (local_path). */
export const ExchangeDownloadResult = z.union([
  z.object({
    client_path: z.string(),
    size: z.number().int().nonnegative(),
    sha256: z.string(),
    key: z.string(),
    ...auto,
  }),
  z.object({
    local_path: z.string(),
    size: z.number().int().nonnegative(),
    sha256: z.string(),
    key: z.string(),
  }),
]);

/** storage/exchange-catalog.ts ExchangeListEntry. */
export const ExchangeListResult = z.object({
  transfers: z.array(
    z.object({
      key: z.string(),
      size: z.number().int().nonnegative(),
      last_modified: z.string(),
      metadata: z.object({
        source_client: z.string(),
        dest_client: z.string().nullable(),
        filename: z.string(),
      }),
      transfer_id: z.string().nullable(),
      state: z.string().describe('stored, pending, delivered, failed; unknown if not recorded here'),
      dest_path: z.string().nullable(),
      expires_at: z.string(),
      delivered_at: z.string().nullable(),
      error: z.string().nullable(),
    }),
  ),
  count: z.number().int().nonnegative(),
});
