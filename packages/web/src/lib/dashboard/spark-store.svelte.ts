import { api } from '../api/api-client.ts';
import type { LiveEvent, MetricsHistory } from '../api/types.ts';

/** The last hour: 120 points at the default 30 s sampling interval. */
const WINDOW_MS = 60 * 60 * 1000;
const MAX_POINTS = 120;
/** Parallel history requests: a 1,000-row table must not open 1,000 at once. */
const CONCURRENCY = 4;

export interface Spark {
  cpu: (number | null)[];
  mem: (number | null)[];
}

/**
 * CPU and memory series per client for the dashboard's sparklines: a client's history is fetched
 * when its row first becomes visible, then extended by `metrics.sample` events.
 */
export class SparkStore {
  sparks = $state<Record<string, Spark>>({});
  #queue: string[] = [];
  #requested = new Set<string>();
  #running = 0;

  want(uuid: string): void {
    if (this.#requested.has(uuid)) return;
    this.#requested.add(uuid);
    this.#queue.push(uuid);
    this.#pump();
  }

  #pump(): void {
    while (this.#running < CONCURRENCY && this.#queue.length > 0) {
      const uuid = this.#queue.shift()!;
      this.#running++;
      this.#fetch(uuid)
        .catch(() => {
          // a client without history (or removed meanwhile) keeps its dash
        })
        .finally(() => {
          this.#running--;
          this.#pump();
        });
    }
  }

  async #fetch(uuid: string): Promise<void> {
    const since = new Date(Date.now() - WINDOW_MS).toISOString();
    const h = await api<MetricsHistory>('GET', `/api/clients/${encodeURIComponent(uuid)}/metrics/history`, {
      query: { since },
    });
    const samples = h.samples.slice(-MAX_POINTS);
    const live = this.sparks[uuid];
    this.sparks[uuid] = {
      cpu: [...samples.map((s) => s.cpu_percent), ...(live?.cpu ?? [])].slice(-MAX_POINTS),
      mem: [...samples.map((s) => s.memory_percent), ...(live?.mem ?? [])].slice(-MAX_POINTS),
    };
  }

  apply(e: LiveEvent): void {
    if (e.type !== 'metrics.sample' || !e.client) return;
    const cpu = typeof e.data.cpu_percent === 'number' ? e.data.cpu_percent : null;
    const mem = typeof e.data.memory_percent === 'number' ? e.data.memory_percent : null;
    const s = this.sparks[e.client.uuid] ?? { cpu: [], mem: [] };
    this.sparks[e.client.uuid] = {
      cpu: [...s.cpu, cpu].slice(-MAX_POINTS),
      mem: [...s.mem, mem].slice(-MAX_POINTS),
    };
  }
}
