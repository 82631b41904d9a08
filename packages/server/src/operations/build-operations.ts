import type { OperationJournal } from '@reach/protocol/node';
import type { AuditLog } from '../audit/audit-log.ts';
import { SecretPromptWatch } from '../audit/secret-prompt.ts';
import type { ClientService } from '../clients/client-service.ts';
import type { ClientStore } from '../db/client-store.ts';
import { FanoutStore } from '../jobs/fanout.ts';
import { JobWatcher } from '../jobs/job-watcher.ts';
import { PendingJobCancels } from '../jobs/pending-cancels.ts';
import type { Logger } from '../log/logger.ts';
import { RateLimiter, type RateLimitMode } from '../rate-limit/rate-limiter.ts';
import type { RolloutService } from '../rollout/rollout-service.ts';
import type { Exchange } from '../storage/build-exchange.ts';
import type { TransferService } from '../transfer/transfer-service.ts';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import { ActivityRecorder } from './activity.ts';
import { limitsOf } from './client-ref.ts';
import type { CommandHistorySink } from './command-history.ts';
import { LiveEvents } from './live-events.ts';
import type { ToolDefinition } from './operation-definition.ts';
import { Operations } from './operations.ts';

export interface BuildOperationsDeps {
  /** Every operation by name (main.ts passes the MCP tool definitions). */
  definitions: readonly ToolDefinition[];
  clients: ClientService;
  store: ClientStore;
  audit: AuditLog;
  webhooks: Pick<WebhookDispatcher, 'enqueue'>;
  transfers?: TransferService;
  journal?: OperationJournal;
  exchange?: Exchange;
  rollouts?: RolloutService;
  history?: CommandHistorySink;
  rateLimit: { mode: RateLimitMode; rpm: number; concurrent: number };
  maxResultBytes: number;
  log: Logger;
}

/** The operations layer and what it owns (job watcher, fan-outs, pending cancels), built once. */
export interface BuiltOperations {
  operations: Operations;
  activity: ActivityRecorder;
  events: LiveEvents;
  close(): void;
}

/** Called by the composition root (main.ts); MCP and HTTP are given the result. */
export function buildOperations(d: BuildOperationsDeps): BuiltOperations {
  const rateLog = d.log.child({ component: 'rate-limit' });
  // One warning per client and kind per minute: every excess request is counted in the stats,
  // but a runaway caller must not also flood the log.
  const lastWarned = new Map<string, number>();
  const rateLimiter = new RateLimiter({
    mode: d.rateLimit.mode,
    defaults: { rpm: d.rateLimit.rpm, concurrent: d.rateLimit.concurrent },
    onExceeded: (uuid, kind, stats) => {
      const key = `${uuid}:${kind}`;
      const now = Date.now();
      if (now - (lastWarned.get(key) ?? 0) < 60_000) return;
      lastWarned.set(key, now);
      rateLog.warn({ clientId: uuid, kind, stats }, 'rate limit exceeded');
    },
  });
  const eventsLog = d.log.child({ component: 'live-events' });
  const events = new LiveEvents((err) => eventsLog.error({ err }, 'live event listener failed'));
  const activity = new ActivityRecorder({
    audit: d.audit,
    webhooks: d.webhooks,
    store: d.store,
    events,
    ...(d.history ? { history: d.history } : {}),
  });
  const jobsLog = d.log.child({ component: 'jobs' });
  // Jobs run_command left running: their end is audited, webhooked and in history like a command.
  const jobWatch = new JobWatcher({
    clients: d.clients,
    log: jobsLog,
    onEnded: (uuid, job) => activity.jobEnded(uuid, job),
  });
  // run_on_clients: every client's part is rate limited, audited and webhooked like its own call.
  const fanouts = new FanoutStore({
    clients: d.clients,
    rateLimiter,
    limitsOf: (uuid) => limitsOf(d.clients.resolve(uuid)),
    onJob: (uuid, jobId) => jobWatch.watch(uuid, jobId),
    onRowDone: (f, row, out) => activity.fanoutRow(f, row, out),
  });
  const operations = new Operations({
    services: {
      clients: d.clients,
      rateLimiter,
      audit: d.audit,
      ...(d.transfers ? { transfers: d.transfers } : {}),
      ...(d.journal ? { journal: d.journal } : {}),
      ...(d.exchange ? { exchange: d.exchange } : {}),
      prompts: new SecretPromptWatch(),
      jobWatch,
      fanouts,
      jobCancels: new PendingJobCancels({ clients: d.clients, log: jobsLog }),
      maxResultBytes: d.maxResultBytes,
      ...(d.rollouts ? { rollouts: d.rollouts } : {}),
    },
    definitions: d.definitions,
    activity,
    events,
    log: d.log.child({ component: 'operations' }),
  });
  return { operations, activity, events, close: () => jobWatch.close() };
}
