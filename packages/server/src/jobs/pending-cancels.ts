import type { ClientService } from '../clients/client-service.ts';
import type { Logger } from '../log/logger.ts';

/** Cancels asked while a client was offline, kept per client (bounded) until it is back. */
const MAX_PER_CLIENT = 256;
/** How long a reconnected client gets to answer one job_cancel (INT, TERM, KILL take about 1.5 s). */
const CANCEL_TIMEOUT_MS = 15_000;

/**
 * job_cancel of a job whose client is offline answers `unknown` and lands here; when the client
 * connects again each is sent. Kept in memory: a server restart forgets them (README says so).
 */
export class PendingJobCancels {
  readonly #pending = new Map<string, Set<string>>();
  readonly #clients: ClientService;
  readonly #log: Logger;

  constructor(deps: { clients: ClientService; log: Logger }) {
    this.#clients = deps.clients;
    this.#log = deps.log;
    deps.clients.on('connected', ({ client }) => void this.#flush(client.uuid));
  }

  add(uuid: string, jobId: string): { queued: boolean } {
    const set = this.#pending.get(uuid) ?? new Set();
    if (set.size >= MAX_PER_CLIENT && !set.has(jobId)) return { queued: false };
    set.add(jobId);
    this.#pending.set(uuid, set);
    return { queued: true };
  }

  pending(uuid: string): string[] {
    return [...(this.#pending.get(uuid) ?? [])];
  }

  async #flush(uuid: string): Promise<void> {
    const set = this.#pending.get(uuid);
    if (!set) return;
    this.#pending.delete(uuid);
    for (const job_id of set) {
      try {
        const r = await this.#clients.call(uuid, 'job_cancel', { job_id }, { timeoutMs: CANCEL_TIMEOUT_MS });
        this.#log.info({ uuid, job_id, outcome: r.outcome }, 'pending job cancel sent');
      } catch (err) {
        this.#log.warn({ uuid, job_id, err }, 'pending job cancel failed');
      }
    }
  }
}
