import { z } from 'zod';
import type { Fanout } from '../../jobs/fanout.ts';
import { toolJobId } from './job-ids.ts';

/** Groups shown in one answer; the rest are counted (job_output pages every client's row). */
const MAX_GROUPS = 20;

/** One page of a fan-out's per-client rows, job ids named for the tools. */
export function fanoutRows(f: Fanout, offset: number, limit: number) {
  const all = [...f.rows.values()];
  const rows = all.slice(offset, offset + limit).map((r) => ({
    client: r.name,
    uuid: r.uuid,
    state: r.state,
    ...(r.returncode === undefined ? {} : { returncode: r.returncode }),
    ...(r.job_id === undefined ? {} : { job_id: toolJobId(r.uuid, r.job_id) }),
    ...(r.error === undefined ? {} : { error: r.error.code, message: r.error.message }),
    ...(r.group === undefined ? {} : { group: r.group }),
    ...(r.duration_ms === undefined ? {} : { duration_ms: r.duration_ms }),
  }));
  return {
    rows,
    offset,
    next_offset: offset + rows.length,
    total: all.length,
    eof: offset + rows.length >= all.length,
  };
}

/** What run_on_clients, job_status and job_wait answer for a fan-out: recap, groups, first rows. */
export function fanoutView(f: Fanout, rowsLimit = 20) {
  const groups = f.groups();
  const page = fanoutRows(f, 0, rowsLimit);
  return {
    job_id: f.id,
    status: f.running ? ('running' as const) : ('done' as const),
    cmd: f.spec.cmd.length > 200 ? `${f.spec.cmd.slice(0, 200)}…` : f.spec.cmd,
    elapsed_ms: (f.endedAt ?? Date.now()) - f.startedAt,
    recap: f.recap(),
    counts: f.counts(),
    groups: groups.slice(0, MAX_GROUPS),
    groups_total: groups.length,
    rows: page.rows,
    rows_total: page.total,
    ...(f.running
      ? {
          hint: 'clients still running: job_wait {job_id} for the rest; job_output {job_id, offset} pages every row',
        }
      : page.eof
        ? {}
        : { hint: 'job_output {job_id, offset} pages every client row' }),
  };
}

const Row = z.object({
  client: z.string(),
  uuid: z.string(),
  state: z.enum(['ok', 'failed', 'running', 'offline', 'error', 'timeout', 'cancelled']),
  returncode: z.number().int().nullable().optional(),
  job_id: z.string().optional(),
  error: z.string().optional(),
  message: z.string().optional(),
  group: z.string().optional(),
  duration_ms: z.number().optional(),
});
const Counts = z.object({
  ok: z.number().int(),
  failed: z.number().int(),
  running: z.number().int(),
  offline: z.number().int(),
  error: z.number().int(),
  timeout: z.number().int(),
  cancelled: z.number().int(),
});

/** Schemas of the answers above, for docs/tools.md and the result checks. */
export const FanoutResult = z.object({
  job_id: z.string(),
  status: z.enum(['running', 'done']),
  cmd: z.string(),
  elapsed_ms: z.number(),
  recap: z.string(),
  counts: Counts,
  groups: z.array(
    z.object({
      count: z.number().int(),
      clients: z.string(),
      state: Row.shape.state,
      returncode: z.number().int().nullable().optional(),
      stdout: z.string().optional(),
      stderr: z.string().optional(),
      truncated: z.boolean().optional(),
      error: z.string().optional(),
      message: z.string().optional(),
      group: z.string().optional(),
    }),
  ),
  groups_total: z.number().int(),
  rows: z.array(Row),
  rows_total: z.number().int(),
  hint: z.string().optional(),
});
export const FanoutRowsResult = z.object({
  job_id: z.string(),
  rows: z.array(Row),
  offset: z.number().int(),
  next_offset: z.number().int(),
  total: z.number().int(),
  eof: z.boolean(),
});
