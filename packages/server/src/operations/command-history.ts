/** Where a command came from, as command history shows it. */
export type CommandSource = 'mcp' | 'http' | 'ui' | 'terminal' | 'fanout' | 'job';

/** One command as command history stores it (run_command, a job's end, a fan-out row, a terminal). */
export interface CommandHistoryEntry {
  /** When it ended (a terminal: when it opened), ms since the epoch. */
  at_ms: number;
  caller: string;
  source: CommandSource;
  client_uuid: string;
  /** The command text; a terminal session records the shell it started. */
  cmd: string;
  cwd: string | null;
  exit_code: number | null;
  /** 'OK' or the error code. */
  outcome: string;
  duration_ms: number;
  /** `job-<16 hex>@<uuid>` or `fan-<16 hex>` when it ran as a job or fan-out. */
  job_id?: string;
}

/** Takes command history entries; must not throw or block (the store batches its writes). */
export interface CommandHistorySink {
  record(entry: CommandHistoryEntry): void;
}

/** The source a caller id names: its prefix (`mcp:…`, `ui:…`, `http:…`). */
export function sourceOf(caller: string): CommandSource {
  const prefix = caller.slice(0, caller.indexOf(':'));
  return prefix === 'ui' || prefix === 'http' ? prefix : 'mcp';
}
