import type { Fanout, FanoutRow } from '../jobs/fanout.ts';
import type { OperationRecord } from '../operations/operation-record.ts';
import type { WebhookEventInput } from './webhook-dispatcher.ts';

/** Longest command text carried in a `command_executed` event. */
const MAX_CMD_CHARS = 1000;
const cutCmd = (cmd: string) => (cmd.length > MAX_CMD_CHARS ? `${cmd.slice(0, MAX_CMD_CHARS)}…` : cmd);

const FILE_OPERATIONS: Record<string, string> = {
  read_file: 'read',
  write_file: 'write',
  list_files: 'list',
};

type Args = Record<string, unknown>;
type Result = Record<string, unknown> | undefined;

/**
 * The activity webhook a finished tool call produces, if any: `command_executed` for
 * run_command, `file_accessed` for read/write/list, `file_transferred` for upload/download.
 * Never carries file bodies, environment values or passwords.
 */
export function toolCallEvent(
  record: OperationRecord,
  client: { uuid: string; display_name: string },
): WebhookEventInput | undefined {
  const args = (record.args ?? {}) as Args;
  const result = record.result as Result;
  const common = { caller: record.caller, outcome: record.outcome, duration_ms: record.durationMs };
  if (record.tool === 'run_command') {
    // It became a job: its command_executed comes when it ends (jobEndEvent).
    if (typeof result?.job_id === 'string') return undefined;
    const cmd = String(args.cmd ?? '');
    return {
      event: 'command_executed',
      client,
      data: {
        ...common,
        cmd: cutCmd(cmd),
        cwd: args.cwd ?? null,
        returncode: result?.returncode ?? null,
      },
    };
  }
  const operation = FILE_OPERATIONS[record.tool];
  if (operation) {
    return {
      event: 'file_accessed',
      client,
      data: { ...common, operation, path: args.path ?? null, size: result?.size ?? null },
    };
  }
  if (record.tool === 'upload_file' || record.tool === 'download_file') {
    return {
      event: 'file_transferred',
      client,
      data: {
        ...common,
        direction: record.tool === 'upload_file' ? 'upload' : 'download',
        local_path: args.local_path ?? null,
        remote_path: args.remote_path ?? null,
        size: result?.size ?? null,
        sha256: result?.sha256 ?? null,
      },
    };
  }
  return undefined;
}

/** Outcome of an ended job as audit rows and webhooks name outcomes (OK or an error code). */
export function jobOutcome(status: string): string {
  if (status === 'exited') return 'OK';
  if (status === 'timed_out') return 'COMMAND_TIMEOUT';
  return status.toUpperCase();
}

/** The `command_executed` webhook of a job that has ended (run_command that outlived its wait). */
export function jobEndEvent(
  job: {
    job_id: string;
    cmd: string;
    cwd: string | null;
    caller: string;
    status: string;
    exit_code: number | null;
    elapsed_ms: number;
  },
  client: { uuid: string; display_name: string },
): WebhookEventInput {
  return {
    event: 'command_executed',
    client,
    data: {
      caller: job.caller,
      outcome: jobOutcome(job.status),
      duration_ms: job.elapsed_ms,
      cmd: cutCmd(job.cmd),
      cwd: job.cwd,
      returncode: job.exit_code,
      job_id: `${job.job_id}@${client.uuid}`,
      job_status: job.status,
    },
  };
}

/** The `command_executed` webhook of one client's part of a run_on_clients fan-out. */
export function fanoutRowEvent(
  f: Fanout,
  row: FanoutRow,
  out: { returncode: number | null } | undefined,
  outcome: string,
  client: { uuid: string; display_name: string },
): WebhookEventInput {
  const cmd = f.spec.cmd;
  return {
    event: 'command_executed',
    client,
    data: {
      caller: f.spec.caller,
      outcome,
      duration_ms: row.duration_ms ?? 0,
      cmd: cutCmd(cmd),
      cwd: f.spec.cwd ?? null,
      returncode: out?.returncode ?? null,
      fanout_id: f.id,
    },
  };
}
