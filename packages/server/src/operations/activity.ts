import type { JobInfo } from '@reach/protocol';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ClientStore } from '../db/client-store.ts';
import type { Fanout, FanoutRow } from '../jobs/fanout.ts';
import { fanoutRowEvent, jobEndEvent, jobOutcome, toolCallEvent } from '../webhooks/tool-call-events.ts';
import type { WebhookEventInput } from '../webhooks/webhook-dispatcher.ts';
import { type CommandHistorySink, sourceOf } from './command-history.ts';
import type { LiveEvents } from './live-events.ts';
import type { OperationRecord } from './operation-record.ts';

export interface ActivityDeps {
  audit: Pick<AuditLog, 'record'>;
  /** The durable webhook outbox (activity events). */
  webhooks: { enqueue(event: WebhookEventInput): unknown };
  /** Display names for events. */
  store: Pick<ClientStore, 'get'>;
  events: LiveEvents;
  history?: CommandHistorySink;
}

/**
 * What every finished operation leaves, whoever called it (MCP, REST, the browser): an audit
 * row always; for one that acted on a client, its activity event (webhook and live view) and,
 * for a command, a command-history entry. Nothing here throws into the caller.
 */
export class ActivityRecorder {
  readonly #d: ActivityDeps;

  constructor(deps: ActivityDeps) {
    this.#d = deps;
  }

  /** An activity event: to the webhook outbox and the live view alike. */
  emit(event: WebhookEventInput): void {
    this.#d.webhooks.enqueue(event);
    this.#d.events.publish({
      type: event.event,
      at: new Date().toISOString(),
      client: event.client,
      data: event.data ?? {},
    });
  }

  /** One finished tool call or operation. */
  operation(record: OperationRecord): void {
    this.#d.audit.record({
      caller: record.caller,
      client_uuid: record.client ?? null,
      tool: record.tool,
      arguments: record.args,
      outcome: record.outcome,
      duration_ms: record.durationMs,
    });
    if (record.client === undefined) return;
    const client = this.#d.store.get(record.client);
    if (!client) return;
    const who = { uuid: client.uuid, display_name: client.display_name };
    const event = toolCallEvent(record, who);
    if (event) this.emit(event);
    const args = (record.args ?? {}) as Record<string, unknown>;
    const result = (record.result ?? {}) as Record<string, unknown>;
    // A run_command that became a job is in history when it ends (jobEnded).
    if (record.tool === 'run_command' && typeof result.job_id !== 'string' && typeof args.cmd === 'string') {
      this.#d.history?.record({
        at_ms: Date.now(),
        caller: record.caller,
        source: sourceOf(record.caller),
        client_uuid: client.uuid,
        cmd: args.cmd,
        cwd: typeof args.cwd === 'string' ? args.cwd : null,
        exit_code: typeof result.returncode === 'number' ? result.returncode : null,
        outcome: record.outcome,
        duration_ms: record.durationMs,
      });
    }
    if (record.tool === 'terminal_open' && record.outcome === 'OK') {
      this.#d.history?.record({
        at_ms: Date.now(),
        caller: record.caller,
        source: 'terminal',
        client_uuid: client.uuid,
        cmd: typeof args.shell === 'string' ? args.shell : 'terminal',
        cwd: null,
        exit_code: null,
        outcome: record.outcome,
        duration_ms: record.durationMs,
      });
    }
  }

  /** A job run_command left running has ended: audited, webhooked and in history like a command. */
  jobEnded(uuid: string, job: JobInfo): void {
    this.#d.audit.record({
      caller: job.caller,
      client_uuid: uuid,
      tool: 'job_ended',
      arguments: { job_id: job.job_id, cmd: job.cmd, cwd: job.cwd, exit_code: job.exit_code },
      outcome: jobOutcome(job.status),
      duration_ms: job.elapsed_ms,
    });
    const client = this.#d.store.get(uuid);
    if (!client) return;
    this.emit(jobEndEvent(job, { uuid, display_name: client.display_name }));
    this.#d.history?.record({
      at_ms: Date.now(),
      caller: job.caller,
      source: 'job',
      client_uuid: uuid,
      cmd: job.cmd,
      cwd: job.cwd,
      exit_code: job.exit_code,
      outcome: jobOutcome(job.status),
      duration_ms: job.elapsed_ms,
      job_id: `${job.job_id}@${uuid}`,
    });
  }

  /** One client's part of a run_on_clients fan-out is done (one left running is a job: jobEnded). */
  fanoutRow(f: Fanout, row: FanoutRow, out: { returncode: number | null } | undefined): void {
    if (row.job_id !== undefined) return;
    const outcome =
      row.state === 'ok' || row.state === 'failed' ? 'OK' : (row.error?.code ?? row.state.toUpperCase());
    this.#d.audit.record({
      caller: f.spec.caller,
      client_uuid: row.uuid,
      tool: 'run_on_clients',
      arguments: { cmd: f.spec.cmd, fanout_id: f.id },
      outcome,
      duration_ms: row.duration_ms ?? 0,
    });
    if (row.state === 'offline') return;
    const client = this.#d.store.get(row.uuid);
    if (!client) return;
    this.emit(fanoutRowEvent(f, row, out, outcome, { uuid: row.uuid, display_name: client.display_name }));
    this.#d.history?.record({
      at_ms: Date.now(),
      caller: f.spec.caller,
      source: 'fanout',
      client_uuid: row.uuid,
      cmd: f.spec.cmd,
      cwd: f.spec.cwd ?? null,
      exit_code: out?.returncode ?? null,
      outcome,
      duration_ms: row.duration_ms ?? 0,
      job_id: f.id,
    });
  }
}
