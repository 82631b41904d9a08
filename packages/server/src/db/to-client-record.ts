import { z } from 'zod';
import type { ClientRecord } from './client-store.ts';

const StringList = z.array(z.string());
const Row = z.object({
  uuid: z.string(),
  display_name: z.string(),
  display_name_locked: z.number(),
  purpose: z.string(),
  purpose_locked: z.number(),
  tags: z.string(),
  tags_locked: z.number(),
  capabilities: z.string(),
  public_key: z.string(),
  fingerprint: z.string(),
  first_seen: z.string(),
  last_seen: z.string().nullable(),
  connection_count: z.number(),
  key_mismatch: z.number(),
  previous_fingerprint: z.string().nullable(),
  pending_public_key: z.string().nullable(),
  pending_fingerprint: z.string().nullable(),
  allowed_paths: z.string(),
  webhook_url: z.string().nullable(),
  rate_limit_rpm: z.number().nullable(),
  rate_limit_concurrent: z.number().nullable(),
  client_id: z.string().nullable(),
  hostname: z.string().nullable(),
  platform: z.string().nullable(),
  username: z.string().nullable(),
  connected_at: z.string().nullable(),
});

function list(json: string): string[] {
  const parsed = StringList.safeParse(JSON.parse(json));
  return parsed.success ? parsed.data : [];
}

/** A `clients` row (as `SELECT *` returns it) as a ClientRecord: flags to booleans, JSON lists parsed. */
export function toClientRecord(raw: unknown): ClientRecord {
  const r = Row.parse(raw);
  return {
    uuid: r.uuid,
    display_name: r.display_name,
    display_name_locked: r.display_name_locked !== 0,
    purpose: r.purpose,
    purpose_locked: r.purpose_locked !== 0,
    tags: list(r.tags),
    tags_locked: r.tags_locked !== 0,
    capabilities: list(r.capabilities),
    public_key: r.public_key,
    fingerprint: r.fingerprint,
    first_seen: r.first_seen,
    last_seen: r.last_seen,
    connection_count: r.connection_count,
    key_mismatch: r.key_mismatch !== 0,
    previous_fingerprint: r.previous_fingerprint,
    pending_public_key: r.pending_public_key,
    pending_fingerprint: r.pending_fingerprint,
    allowed_paths: list(r.allowed_paths),
    webhook_url: r.webhook_url,
    rate_limit_rpm: r.rate_limit_rpm,
    rate_limit_concurrent: r.rate_limit_concurrent,
    last_connection:
      r.client_id !== null && r.connected_at !== null
        ? {
            client_id: r.client_id,
            hostname: r.hostname ?? '',
            platform: r.platform ?? '',
            username: r.username ?? '',
            connected_at: r.connected_at,
          }
        : null,
  };
}
