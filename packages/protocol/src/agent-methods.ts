import { z } from 'zod';
import { LIMITS } from './limits.ts';
import { AbsolutePath } from './paths.ts';
import { LastUpdate } from './update-methods.ts';

export { AbsolutePath };

/**
 * Schemas of every agent method (server → client over the reverse tunnel) and every control
 * method (client → server). Both ends validate with these: params on receipt, results on return.
 */

const ShortText = z.string().max(200);

/**
 * Names one mutating call (write_file, upload_file, download_file, run_command) so its outcome can
 * be asked for and a retry recognised: the caller's `idempotency_key`, or one the server assigns.
 */
export const OperationId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only');

/** Fields a journaled mutation's result carries besides its own. */
const OperationFields = {
  operation_id: OperationId.optional(),
  /** True when this is the recorded result of an earlier run with the same id, not a new run. */
  replayed: z.boolean().optional(),
};
/** A result cap in JSON-encoded bytes (LIMITS.defaultResultBytes unless asked). */
export const ResultBytes = z.number().int().min(LIMITS.minResultBytes).max(LIMITS.maxResultBytes);

export const HelloParams = z.object({
  server_version: z.string().max(64),
  /** Spread the first retry after a lost link over this many ms (reconnectWindowMs of the fleet). */
  reconnect_window_ms: z.number().int().min(0).max(600_000).optional(),
});
export const HelloResult = z.object({
  uuid: z.uuid(),
  client_id: z.string().min(1).max(128),
  display_name: z.string().max(100),
  purpose: z.string().max(200),
  tags: z.array(z.string().max(64)).max(64),
  capabilities: z.array(z.string().max(64)).max(256),
  hostname: z.string().max(255),
  platform: z.string().max(128),
  username: z.string().max(128),
  version: z.string().max(64),
  allowed_paths: z.array(AbsolutePath).max(256),
  /** false: the client's config says auto_update: false, and update_apply is refused (#16). */
  auto_update: z.boolean().optional(),
  /** The client's most recent self-update (update.json), so a rollout sees a rollback. */
  last_update: LastUpdate.optional(),
});
export type HelloResult = z.infer<typeof HelloResult>;

export const SetPolicyParams = z.object({ allowed_paths: z.array(AbsolutePath).max(256) });
export const SetPolicyResult = z.object({ allowed_paths: z.array(z.string()) });

export const HeartbeatParams = z.object({}).loose();
export const HeartbeatResult = z.object({ ts: z.number(), uptime_s: z.number() });

export const RunCommandParams = z.object({
  cmd: z.string().min(1).max(LIMITS.maxCommandChars),
  cwd: AbsolutePath.optional(),
  timeout: z
    .number()
    .min(LIMITS.minCommandTimeoutS)
    .max(LIMITS.maxCommandTimeoutS)
    .default(LIMITS.defaultCommandTimeoutS),
  env: z.record(z.string().max(256), z.string().max(32_768)).optional(),
  operation_id: OperationId.optional(),
  max_output_bytes: ResultBytes.optional(),
  /** Windows clients only: cmd.exe (the default there) or PowerShell. POSIX clients use /bin/sh. */
  shell: z.enum(['cmd', 'powershell']).optional(),
});
export type RunCommandParams = z.input<typeof RunCommandParams>;
export const RunCommandResult = z.object({
  stdout: z.string(),
  stderr: z.string(),
  returncode: z.number().int(),
  duration_ms: z.number(),
  /** stdout/stderr are not the whole output (head and tail kept); the rest is under `output_id`. */
  truncated: z.boolean(),
  ...OperationFields,
  /** Full sizes of what the command wrote, in bytes. */
  stdout_bytes: z.number().int().nonnegative().optional(),
  stderr_bytes: z.number().int().nonnegative().optional(),
  /** Key of the full output in the client's output store (read_output), when truncated. */
  output_id: z.uuid().optional(),
});
export type RunCommandResult = z.infer<typeof RunCommandResult>;

/** A byte range of a file or stored output; `length` defaults to (and is cut to) `max_bytes`. */
const PageParams = {
  offset: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
  length: z.number().int().min(1).max(LIMITS.maxResultBytes).optional(),
  /** JSON-encoded bytes the page's content may take (the result cap). */
  max_bytes: ResultBytes.optional(),
};
/** One page: `content` holds bytes [offset, offset + length) of `size`, as text or base64. */
const PageResult = {
  content: z.string(),
  size: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  eof: z.boolean(),
  binary: z.boolean().optional(),
};

export const ReadFileParams = z.object({ path: AbsolutePath, ...PageParams });
export const ReadFileResult = z.object({ ...PageResult, path: z.string() });
export type ReadFileResult = z.infer<typeof ReadFileResult>;

export const OutputStream = z.enum(['stdout', 'stderr']);
export const ReadOutputParams = z.object({ output_id: z.uuid(), stream: OutputStream, ...PageParams });
export const ReadOutputResult = z.object({
  ...PageResult,
  output_id: z.uuid(),
  stream: OutputStream,
  /** False when the stream outgrew the store's per-stream cap: `size` is what was kept. */
  complete: z.boolean(),
});
export type ReadOutputResult = z.infer<typeof ReadOutputResult>;

export const WriteFileParams = z.object({
  path: AbsolutePath,
  content: z.string().max(Math.ceil((LIMITS.maxFileBytes * 4) / 3) + 4),
  binary: z.boolean().default(false),
  mode: z.number().int().min(0).max(0o7777).optional(),
  operation_id: OperationId.optional(),
});
export type WriteFileParams = z.input<typeof WriteFileParams>;
export const WriteFileResult = z.object({
  path: z.string(),
  size: z.number().int().nonnegative(),
  ...OperationFields,
});

export const ListFilesParams = z.object({ path: AbsolutePath });
export const FileEntry = z.object({
  name: z.string(),
  type: z.enum(['file', 'dir', 'symlink', 'other']),
  size: z.number().int().nonnegative(),
  mode: z.string(),
  mtime: z.string(),
});
export const ListFilesResult = z.object({ path: z.string(), entries: z.array(FileEntry) });
export type ListFilesResult = z.infer<typeof ListFilesResult>;

export const GetMetricsParams = z.object({ summary: z.boolean().default(false) });
export const MetricsSummary = z.object({
  cpu_percent: z.number(),
  memory_percent: z.number(),
  disk_percent: z.number(),
  uptime_hours: z.number(),
});
export const MetricsFull = z.object({
  timestamp: z.string(),
  uptime_seconds: z.number(),
  cpu: z.object({
    usage_percent: z.number(),
    load_average: z.array(z.number()).length(3),
    core_count: z.number().int(),
  }),
  memory: z.object({
    total_gb: z.number(),
    used_gb: z.number(),
    available_gb: z.number(),
    cached_gb: z.number(),
    percent: z.number(),
  }),
  disk: z.record(z.string(), z.object({ total_gb: z.number(), used_gb: z.number(), percent: z.number() })),
  network: z.record(
    z.string(),
    z.object({
      bytes_sent: z.number(),
      bytes_recv: z.number(),
      errors_in: z.number(),
      errors_out: z.number(),
    }),
  ),
  process_count: z.number().int(),
});
export const GetMetricsResult = z.union([MetricsFull, MetricsSummary]);

export const CapabilitiesParams = z.object({}).loose();
export const CapabilitiesResult = z.object({ capabilities: z.array(z.string().max(64)).max(256) });

export const OperationStatusParams = z.object({ operation_id: OperationId });
export const OperationStatusResult = z.object({
  operation_id: OperationId,
  status: z.enum(['applied', 'not_applied', 'in_progress', 'unknown']),
  /** The tool that ran it: write_file, upload_file, download_file or run_command. */
  op: z.string().max(64).optional(),
  /** The recorded result (bounded: run_command keeps the last 4 KiB of each stream). */
  result: z.unknown().optional(),
  reason: z.string().max(1024).optional(),
  /** When the record last changed (ISO 8601). */
  at: z.string().max(64).optional(),
});
export type OperationStatusResult = z.infer<typeof OperationStatusResult>;

/** Methods the server calls on a client's agent, with their schemas. */
export const AGENT_METHODS = {
  hello: { params: HelloParams, result: HelloResult },
  set_policy: { params: SetPolicyParams, result: SetPolicyResult },
  heartbeat: { params: HeartbeatParams, result: HeartbeatResult },
  run_command: { params: RunCommandParams, result: RunCommandResult },
  read_file: { params: ReadFileParams, result: ReadFileResult },
  read_output: { params: ReadOutputParams, result: ReadOutputResult },
  write_file: { params: WriteFileParams, result: WriteFileResult },
  list_files: { params: ListFilesParams, result: ListFilesResult },
  get_metrics: { params: GetMetricsParams, result: GetMetricsResult },
  capabilities: { params: CapabilitiesParams, result: CapabilitiesResult },
  operation_status: { params: OperationStatusParams, result: OperationStatusResult },
} as const;
export type AgentMethod = keyof typeof AGENT_METHODS;
export type AgentParams<M extends AgentMethod> = z.input<(typeof AGENT_METHODS)[M]['params']>;
export type AgentResult<M extends AgentMethod> = z.infer<(typeof AGENT_METHODS)[M]['result']>;

/** Control methods a client calls on the server over the `reach-control` subsystem. */
export const ClientSummary = z.object({
  uuid: z.string(),
  display_name: z.string(),
  purpose: z.string(),
  tags: z.array(z.string()),
  online: z.boolean(),
  hostname: z.string().nullable(),
  platform: z.string().nullable(),
  last_seen: z.string().nullable(),
  key_mismatch: z.boolean(),
});
/**
 * A page of the control list_clients. Every field is optional, so `{}` (what clients before
 * paging send) is the first page; unknown fields are ignored for later additions.
 */
export const ListClientsParams = z
  .object({
    /** Clients per page (server default 1000). */
    limit: z.number().int().min(1).max(1000).optional(),
    /** `next_cursor` of the previous page. */
    cursor: z.string().max(1024).optional(),
    online_only: z.boolean().optional(),
  })
  .loose();
export const ListClientsResult = z.object({
  clients: z.array(ClientSummary),
  online_count: z.number().int(),
  total_count: z.number().int(),
  /** Absent from servers before paging, which send every client at once; null on the last page. */
  next_cursor: z.string().nullable().optional(),
});
/**
 * A client checking for an update on its own schedule (`update_check_interval_h`): the release
 * its channel points at, as the server has it (manifest bytes and signature, which the client
 * checks against its own key exactly as for update_apply), or `version: null` when there is none.
 */
export const UpdateCheckParams = z.object({ channel: z.enum(['stable', 'beta']).default('stable') });
export const UpdateCheckResult = z.union([
  z.object({ version: z.null() }),
  z.object({ version: z.string().max(64), manifest: z.string(), signature: z.string().max(4096) }),
]);

export const CONTROL_METHODS = {
  list_clients: { params: ListClientsParams, result: ListClientsResult },
  update_check: { params: UpdateCheckParams, result: UpdateCheckResult },
} as const;

/** SSH names the link uses. */
export const LINK = {
  /** Virtual reverse-forward address for the agent RPC channel; no TCP port is bound. */
  agentBindAddr: 'agent',
  agentBindPort: 0,
  /** Virtual reverse-forward address for bulk-transfer channels (one per transfer); nothing bound. */
  streamBindAddr: 'stream',
  streamBindPort: 0,
  /** Subsystem a client opens to call control methods on the server. */
  controlSubsystem: 'reach-control',
  /** Subsystem a client opens on its link to fetch a release artifact (self-update). */
  releaseSubsystem: 'reach-release',
  /** SSH user name clients log in as. */
  defaultUser: 'reach',
} as const;

/** Shorter text limits reused by server-side schemas. */
export { ShortText };
