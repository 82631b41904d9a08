import type { ClientRecord, ConnectionInfo } from '../db/client-store.ts';
import type { OnlineClient } from '../registry/client-registry.ts';

/** A client as listed to operators (MCP list_clients, HTTP API). */
export interface ClientView {
  uuid: string;
  display_name: string;
  purpose: string;
  tags: string[];
  capabilities: string[];
  online: boolean;
  last_seen: string | null;
  first_seen: string;
  connection_count: number;
  key_mismatch: boolean;
  hostname?: string;
  platform?: string;
  username?: string;
  client_id?: string;
}

/** Everything known about one client (MCP describe_client). */
export interface ClientDetail extends ClientView {
  public_key_fingerprint: string;
  previous_fingerprint: string | null;
  /** Fingerprint of the key waiting for accept_key while `key_mismatch`. */
  pending_fingerprint: string | null;
  /** True when the online connection uses an unaccepted key: every operation is refused. */
  quarantined: boolean;
  allowed_paths: string[];
  webhook_url: string | null;
  rate_limit_rpm: number | null;
  rate_limit_concurrent: number | null;
  current_connection?: ConnectionInfo;
  last_connection?: ConnectionInfo;
}

export function toClientView(record: ClientRecord, online: OnlineClient | undefined): ClientView {
  const conn = online?.registration.connection ?? record.last_connection;
  const view: ClientView = {
    uuid: record.uuid,
    display_name: record.display_name,
    purpose: record.purpose,
    tags: record.tags,
    capabilities: record.capabilities,
    online: online !== undefined,
    last_seen: record.last_seen,
    first_seen: record.first_seen,
    connection_count: record.connection_count,
    key_mismatch: record.key_mismatch,
  };
  if (conn) {
    view.hostname = conn.hostname;
    view.platform = conn.platform;
    view.username = conn.username;
    view.client_id = conn.client_id;
  }
  return view;
}

export function toClientDetail(record: ClientRecord, online: OnlineClient | undefined): ClientDetail {
  const detail: ClientDetail = {
    ...toClientView(record, online),
    public_key_fingerprint: record.fingerprint,
    previous_fingerprint: record.previous_fingerprint,
    pending_fingerprint: record.pending_fingerprint,
    quarantined: online?.quarantined ?? false,
    allowed_paths: record.allowed_paths,
    webhook_url: record.webhook_url,
    rate_limit_rpm: record.rate_limit_rpm,
    rate_limit_concurrent: record.rate_limit_concurrent,
  };
  if (online) detail.current_connection = online.registration.connection;
  else if (record.last_connection) detail.last_connection = record.last_connection;
  return detail;
}
