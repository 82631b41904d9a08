import type { OperationJournal } from '@reach/protocol/node';
import type { AuditLog } from '../audit/audit-log.ts';
import type { SecretPromptWatch } from '../audit/secret-prompt.ts';
import type { ClientService } from '../clients/client-service.ts';
import type { FanoutStore } from '../jobs/fanout.ts';
import type { JobWatcher } from '../jobs/job-watcher.ts';
import type { PendingJobCancels } from '../jobs/pending-cancels.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';
import type { RolloutService } from '../rollout/rollout-service.ts';
import type { Exchange } from '../storage/build-exchange.ts';
import type { TransferService } from '../transfer/transfer-service.ts';

/** The services tool handlers call, whoever the caller (MCP or the HTTP API). */
export interface OperationServices {
  clients: ClientService;
  rateLimiter: RateLimiter;
  /** upload_file / download_file (absent: those tools fail with INTERNAL_ERROR). */
  transfers?: TransferService;
  audit: AuditLog;
  /** exchange_* and r2_* tools (absent: they fail with R2_NOT_CONFIGURED). */
  exchange?: Pick<Exchange, 'service' | 'catalog' | 'rotation'>;
  /** Last output per SSH session, so ssh_session_send knows when it answers a password prompt. */
  prompts: SecretPromptWatch;
  /** Transfers by operation id, as the server saw them (downloads are decided here). */
  journal?: OperationJournal;
  /** job_cancel of jobs on offline clients, sent when they are back (absent: answered unknown, not queued). */
  jobCancels?: PendingJobCancels;
  /** Follows the jobs run_command leaves running, to report their end (absent: nobody reports). */
  jobWatch?: JobWatcher;
  /** run_on_clients and its fan-out jobs (absent: run_on_clients fails with INTERNAL_ERROR). */
  fanouts?: FanoutStore;
  /** Default cap on the text one result carries, in JSON bytes (--max-result-bytes). */
  maxResultBytes: number;
  /** update_clients / update_status (absent: they fail with INTERNAL_ERROR). */
  rollouts?: RolloutService;
}
