import type { JobInfo } from '@reach/protocol';
import type { ClientService } from '../clients/client-service.ts';
import type { Logger } from '../log/logger.ts';

/** job_wait per call: under the link's own call deadline, long enough to cost ~1 RPC a minute. */
const WAIT_S = 50;
const CALL_GRACE_MS = 15_000;
/** Jobs watched at once across the fleet; past it a job is reported when its client next connects. */
const MAX_WATCHED = 10_000;

export interface JobWatcherDeps {
  clients: ClientService;
  log: Logger;
  /** A job has ended: raise its webhook and audit row (called once per job, then acked). */
  onEnded: (uuid: string, job: JobInfo) => void;
  /**
   * Delay before a connected client's jobs are swept, in ms: spread so a restart storm of N
   * clients does not answer with N job_list calls at once. Random 0–2 s by default.
   */
  sweepDelayMs?: () => number;
}

/**
 * Reports the end of every job exactly when it ends (at least once): jobs that run_command left
 * running are watched with job_wait while their client is online; when a client connects, its
 * running jobs are watched again and ended ones not yet reported (a server restart, a dropped link)
 * are reported. The client keeps the `reported` mark (job_ack), so no server table is needed.
 */
export class JobWatcher {
  readonly #d: JobWatcherDeps;
  readonly #watching = new Set<string>();
  #closed = false;

  constructor(deps: JobWatcherDeps) {
    this.#d = deps;
    deps.clients.on('connected', ({ client }) => {
      if (!client.capabilities.includes('jobs')) return;
      const delay = deps.sweepDelayMs?.() ?? Math.random() * 2000;
      setTimeout(() => void this.#sweep(client.uuid), delay).unref();
    });
  }

  watch(uuid: string, jobId: string): void {
    const key = `${uuid}/${jobId}`;
    if (this.#closed || this.#watching.has(key) || this.#watching.size >= MAX_WATCHED) return;
    this.#watching.add(key);
    void this.#follow(uuid, jobId).finally(() => this.#watching.delete(key));
  }

  close(): void {
    this.#closed = true;
  }

  async #sweep(uuid: string): Promise<void> {
    try {
      const { jobs } = await this.#d.clients.call(uuid, 'job_list', {}, { timeoutMs: CALL_GRACE_MS });
      for (const job of jobs) {
        if (job.status === 'running') this.watch(uuid, job.job_id);
        else if (!job.reported) await this.#report(uuid, job);
      }
    } catch (err) {
      this.#d.log.debug({ uuid, err: (err as Error).message }, 'job sweep failed');
    }
  }

  async #follow(uuid: string, jobId: string): Promise<void> {
    while (!this.#closed) {
      let job: JobInfo;
      try {
        job = await this.#d.clients.call(
          uuid,
          'job_wait',
          {
            job_id: jobId,
            timeout: WAIT_S,
            stdout_offset: Number.MAX_SAFE_INTEGER,
            stderr_offset: Number.MAX_SAFE_INTEGER,
          },
          { timeoutMs: WAIT_S * 1000 + CALL_GRACE_MS },
        );
      } catch {
        return; // Offline (or gone): the next connection's sweep takes it up again.
      }
      if (job.status !== 'running') {
        if (!job.reported) await this.#report(uuid, job);
        return;
      }
    }
  }

  async #report(uuid: string, job: JobInfo): Promise<void> {
    try {
      this.#d.onEnded(uuid, job);
    } catch (err) {
      this.#d.log.error({ err }, 'job end observer failed');
    }
    await this.#d.clients
      .call(uuid, 'job_ack', { job_id: job.job_id }, { timeoutMs: CALL_GRACE_MS })
      .catch((err: unknown) => this.#d.log.debug({ uuid, err: (err as Error).message }, 'job_ack failed'));
  }
}
