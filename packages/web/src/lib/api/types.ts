// Shapes of the /api payloads the UI reads (the shared HTTP contract; snake_case as on the wire).

export type ClientStatus = 'online' | 'offline' | 'unhealthy' | 'quarantined';

/** A client as list_clients and GET /api/clients describe it. */
export interface ClientView {
  uuid: string;
  display_name: string;
  purpose: string;
  tags: string[];
  capabilities: string[];
  online: boolean;
  status: ClientStatus;
  last_seen: string | null;
  first_seen: string;
  connection_count: number;
  key_mismatch: boolean;
  hostname?: string;
  platform?: string;
  username?: string;
}

export interface ClientList {
  clients: ClientView[];
  next_cursor: string | null;
  total: number;
  online: number;
}

/** describe_client's result. */
export interface ClientDetail extends ClientView {
  public_key_fingerprint: string;
  previous_fingerprint: string | null;
  pending_fingerprint: string | null;
  quarantined: boolean;
  allowed_paths: string[];
}

export interface MetricsSample {
  at: string;
  cpu_percent: number | null;
  memory_percent: number | null;
  disk_percent: number | null;
  net_rx_bps: number | null;
  net_tx_bps: number | null;
}

export interface MetricsHistory {
  samples: MetricsSample[];
}

export interface HistoryRow {
  id: number | string;
  at: string;
  caller: string;
  source: string;
  client_uuid: string;
  client_name: string;
  cmd: string;
  cwd: string | null;
  exit_code: number | null;
  outcome: string;
  duration_ms: number | null;
}

export interface HistoryPage {
  commands: HistoryRow[];
  next_cursor: string | null;
}

export interface SessionInfo {
  authenticated: boolean;
  auth_required: boolean;
  expires_at: string | null;
}

/** list_files's entry (packages/protocol agent-methods.ts). */
export interface FileEntry {
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  mode: string;
  mtime: string;
}

export interface DirListing {
  path: string;
  entries: FileEntry[];
}

export interface UploadResult {
  path: string;
  size: number;
  sha256: string;
}

/** One frame of `WS /ws`. */
export interface LiveEvent {
  type: string;
  at: string;
  client?: { uuid: string; display_name: string };
  data: Record<string, unknown>;
}

/** GET /api/clients/:uuid/recordings: one asciicast v2 terminal recording. */
export interface RecordingInfo {
  id: string;
  started_at: string;
  /** null while the terminal is still open. */
  ended_at: string | null;
  bytes: number;
  caller: string | null;
}
