import type { LinkResult } from '@reach/protocol';
import type { ClientService } from '../clients/client-service.ts';
import type { MetricsHistoryStore, MetricsSample } from '../db/metrics-history-store.ts';
import type { Logger } from '../log/logger.ts';
import type { LiveEvents } from '../operations/live-events.ts';

export interface MetricsSamplerDeps {
  clients: Pick<ClientService, 'onlineSample' | 'call'>;
  store: Pick<MetricsHistoryStore, 'insert' | 'prune'>;
  events: Pick<LiveEvents, 'publish'>;
  /** Seconds between two samples of one client; 0: off. */
  intervalS: number;
  retentionDays: number;
  log: Logger;
}

/** At most this many get_metrics calls in flight: 1,000 clients at 30 s is ~33 a second anyway. */
const MAX_IN_FLIGHT = 8;
/** A client that takes longer than this to report is skipped for this round. */
const SAMPLE_TIMEOUT_MS = 10_000;
/** Retention is applied this often (and at start). */
const PRUNE_EVERY_MS = 3_600_000;

type FullMetrics = Extract<LinkResult<'get_metrics'>, { network: unknown }>;

/** The four plotted numbers of a full metrics answer; network as rates against the last counters. */
export function sampleOf(
  m: FullMetrics,
  at: number,
  prev: { at: number; rx: number; tx: number } | undefined,
): { sample: MetricsSample; counters: { at: number; rx: number; tx: number } } {
  let rx = 0;
  let tx = 0;
  for (const [name, n] of Object.entries(m.network)) {
    if (name === 'lo' || name.startsWith('lo')) continue;
    rx += n.bytes_recv;
    tx += n.bytes_sent;
  }
  const disks = Object.entries(m.disk);
  const root = disks.find(([mount]) => mount === '/' || /^[A-Z]:\\?$/i.test(mount));
  const disk = root?.[1].percent ?? (disks.length > 0 ? Math.max(...disks.map(([, d]) => d.percent)) : null);
  const dt = prev === undefined ? 0 : (at - prev.at) / 1000;
  // Counters that went back (a reboot, an interface gone) give no rate, not a negative one.
  const rate = (now: number, before: number | undefined): number | null =>
    before === undefined || dt <= 0 || now < before ? null : Math.round((now - before) / dt);
  return {
    sample: {
      at_ms: at,
      cpu_percent: m.cpu.usage_percent,
      memory_percent: m.memory.percent,
      disk_percent: disk,
      net_rx_bps: rate(rx, prev?.rx),
      net_tx_bps: rate(tx, prev?.tx),
    },
    counters: { at, rx, tx },
  };
}

/**
 * Samples every online client's metrics each `intervalS` into the metrics history and onto the
 * live view (`metrics.sample`). One round's calls are spread over the interval (client i of n
 * starts at i/n of it) with at most MAX_IN_FLIGHT at once, so a fleet is not asked all at once.
 * These are the server's own reads, not callers' operations: no audit row, no rate limit.
 */
export class MetricsSampler {
  readonly #d: MetricsSamplerDeps;
  readonly #counters = new Map<string, { at: number; rx: number; tx: number }>();
  readonly #abort = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  #inFlight = 0;
  readonly #queue: Array<{ uuid: string; display_name: string }> = [];
  #lastPrune = 0;

  constructor(deps: MetricsSamplerDeps) {
    this.#d = deps;
  }

  start(): void {
    if (this.#d.intervalS <= 0) return;
    this.#prune();
    const tick = (): void => {
      this.#round();
      this.#later(tick, this.#d.intervalS * 1000);
    };
    // The first round right away: a client that just connected gets a point on its plot.
    tick();
  }

  close(): void {
    this.#abort.abort();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queue.length = 0;
  }

  #later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  #round(): void {
    if (Date.now() - this.#lastPrune > PRUNE_EVERY_MS) this.#prune();
    const { sample: online } = this.#d.clients.onlineSample(Number.MAX_SAFE_INTEGER);
    const live = new Set(online.map((c) => c.uuid));
    for (const uuid of this.#counters.keys()) if (!live.has(uuid)) this.#counters.delete(uuid);
    const spreadMs = (this.#d.intervalS * 1000 * 0.8) / Math.max(1, online.length);
    online.forEach((c, i) => {
      if (i === 0) this.#enqueue(c);
      else this.#later(() => this.#enqueue(c), Math.round(i * spreadMs));
    });
  }

  #enqueue(c: { uuid: string; display_name: string }): void {
    this.#queue.push(c);
    this.#drain();
  }

  #drain(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#queue.length > 0 && !this.#abort.signal.aborted) {
      const c = this.#queue.shift()!;
      this.#inFlight += 1;
      void this.#sample(c).finally(() => {
        this.#inFlight -= 1;
        this.#drain();
      });
    }
  }

  async #sample(c: { uuid: string; display_name: string }): Promise<void> {
    try {
      const m = await this.#d.clients.call(
        c.uuid,
        'get_metrics',
        { summary: false },
        { signal: this.#abort.signal, timeoutMs: SAMPLE_TIMEOUT_MS },
      );
      if (!('network' in m)) return;
      const at = Date.now();
      const { sample, counters } = sampleOf(m, at, this.#counters.get(c.uuid));
      this.#counters.set(c.uuid, counters);
      this.#d.store.insert(c.uuid, sample);
      const { at_ms: _at, ...values } = sample;
      this.#d.events.publish({
        type: 'metrics.sample',
        at: new Date(at).toISOString(),
        client: { uuid: c.uuid, display_name: c.display_name },
        data: values,
      });
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#d.log.debug({ err, clientId: c.uuid }, 'metrics sample failed');
    }
  }

  #prune(): void {
    this.#lastPrune = Date.now();
    try {
      this.#d.store.prune(Date.now() - this.#d.retentionDays * 86_400_000);
    } catch (err) {
      this.#d.log.error({ err }, 'metrics history prune failed');
    }
  }
}
