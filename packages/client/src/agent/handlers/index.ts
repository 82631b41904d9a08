import type { AgentMethod, RpcHandler, SshSessionMethod } from '@reach/protocol';
import type { OperationJournal } from '@reach/protocol/node';
import type { JobManager } from '../../jobs/job-manager.ts';
import type { Logger } from '../../log/logger.ts';
import {
  journaled,
  operationStatusHandler,
  recordCommandResult,
  writeFileIntent,
} from '../../operations/journaled-handlers.ts';
import type { OutputStore } from '../../output-store/output-store.ts';
import type { Platform } from '../../platform/platform.ts';
import type { CommandGroups } from '../../spawner/command-groups.ts';
import type { ShellPool } from '../../spawner/shell-pool.ts';
import type { ReconnectHints } from '../../tunnel/reconnect-hints.ts';
import type { Updater } from '../../update/updater.ts';
import type { PathPolicy } from '../path-policy.ts';
import { exchangeHandlers } from './exchange.ts';
import { getMetricsHandler } from './get-metrics.ts';
import { type ClientIdentity, helloHandler, type SystemInfo, systemInfo } from './hello.ts';
import { jobHandlers } from './job-handlers.ts';
import { jobRunHandler } from './job-run.ts';
import { listFilesHandler } from './list-files.ts';
import { capabilitiesHandler, heartbeatHandler, setPolicyHandler } from './policy-and-status.ts';
import { readFileHandler } from './read-file.ts';
import { readOutputHandler } from './read-output.ts';
import { runCommandHandler } from './run-command.ts';
import { updateApplyHandler } from './update-apply.ts';
import { type WriteFileDeps, writeFileHandler } from './write-file.ts';

export type { ClientIdentity, SystemInfo };

/** The methods served here; ssh_session_* come from ssh-sessions/ and are merged by main.ts. */
export type CoreAgentMethod = Exclude<AgentMethod, SshSessionMethod>;

export interface AgentHandlerDeps {
  identity: ClientIdentity;
  /** Client software version reported in hello. */
  version: string;
  policy: PathPolicy;
  log: Logger;
  /** Environment commands inherit. */
  baseEnv: Readonly<Record<string, string | undefined>>;
  /** Working directory of run_command when none is given. */
  defaultCwd: string;
  /** Whole outputs of commands whose result was cut to the cap (read_output). */
  outputs: OutputStore;
  /** Capabilities found at startup. */
  capabilities: readonly string[];
  /** Re-detects capabilities (the `capabilities` method). */
  detectCapabilities: () => Promise<string[]>;
  system?: SystemInfo;
  /** Wall clock in ms; injected in tests. */
  now?: () => number;
  /** Ties run_command's process groups to the client's life. */
  groups?: CommandGroups;
  /** Shells spawned ahead of need that run_command starts through. */
  pool?: ShellPool | undefined;
  /** write_file's directories journal and sweep (litter-sweeper.ts). */
  litter?: WriteFileDeps['litter'];
  /** Completed mutations by operation id: retries replay, operation_status answers from it. */
  operations?: OperationJournal | undefined;
  /** Shell, process tree and metrics sources of this OS; POSIX when absent. */
  platform?: Platform;
  /** Where hello puts the server's reconnect window for the tunnel. */
  hints?: ReconnectHints | undefined;
  /** Commands that outlive their call (job_run, job_*); absent where there is no procfs. */
  jobs?: JobManager | undefined;
  /** Self-update (update_apply; auto_update and last_update in hello); absent: no update_apply. */
  updater?: Updater | undefined;
}

/** Capability a client with jobs announces: the server then sends run_command's `wait` as job_run. */
export const JOBS_CAPABILITY = 'jobs';

/** Every core agent method, keyed by method name, ready for an RpcPeer. */
export function createAgentHandlers(deps: AgentHandlerDeps): Map<string, RpcHandler> {
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const withJobs = (caps: readonly string[]) =>
    deps.jobs ? [...new Set([...caps, JOBS_CAPABILITY])] : [...caps];
  let capabilities = withJobs(deps.capabilities);
  const log = deps.log.child({ component: 'agent' });
  const ops = deps.operations;
  const once = (op: string, handler: RpcHandler, opts: Parameters<typeof journaled>[3] = {}) =>
    ops ? journaled(ops, op, handler, opts) : handler;
  const commandDeps = {
    policy: deps.policy,
    log,
    baseEnv: deps.baseEnv,
    defaultCwd: deps.defaultCwd,
    groups: deps.groups,
    pool: deps.pool,
    outputs: deps.outputs,
    platform: deps.platform,
  };
  const handlers: Record<CoreAgentMethod, RpcHandler> = {
    hello: helloHandler({
      identity: deps.identity,
      version: deps.version,
      policy: deps.policy,
      system: deps.system ?? systemInfo(),
      capabilities: () => capabilities,
      log,
      update: deps.updater,
      hints: deps.hints,
    }),
    set_policy: setPolicyHandler(
      deps.policy,
      deps.updater && (() => deps.updater?.registered() ?? Promise.resolve()),
    ),
    heartbeat: heartbeatHandler(now, startedAt),
    run_command: once('run_command', runCommandHandler(commandDeps), { record: recordCommandResult }),
    read_file: readFileHandler({ policy: deps.policy }),
    read_output: readOutputHandler(deps.outputs),
    write_file: once('write_file', writeFileHandler({ policy: deps.policy, litter: deps.litter }), {
      intent: writeFileIntent,
    }),
    list_files: listFilesHandler({ policy: deps.policy }),
    get_metrics: getMetricsHandler(deps.platform, deps.baseEnv),
    capabilities: capabilitiesHandler(
      async () => withJobs(await deps.detectCapabilities()),
      (caps) => {
        capabilities = caps;
      },
    ),
    operation_status: operationStatusHandler(ops),
  };
  const jobs: Record<string, RpcHandler> = {};
  if (deps.jobs) {
    jobs.job_run = once('run_command', jobRunHandler({ ...commandDeps, jobs: deps.jobs }), {
      record: recordCommandResult,
    });
    Object.assign(jobs, jobHandlers(deps.jobs));
  }
  if (deps.updater) jobs.update_apply = updateApplyHandler(deps.updater);
  return new Map([
    ...Object.entries(handlers),
    ...Object.entries(exchangeHandlers({ policy: deps.policy })),
    ...Object.entries(jobs),
  ]);
}
