/**
 * Latency and throughput measurement shared by the benches. Times in milliseconds.
 * On a 2-core machine single runs vary ~1.5×: benches run several rounds and report medians.
 */
import { performance } from 'node:perf_hooks';

export interface LatencyStats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export interface ThroughputStats {
  calls: number;
  concurrency: number;
  seconds: number;
  callsPerSecond: number;
}

/** Nearest-rank percentile of an already sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Runs `op` `n` times one after the other and returns the latency distribution. */
export async function sequential(
  n: number,
  op: () => Promise<unknown>,
  /** Pause before each call, in ms (calls with think time between them); none by default. */
  gapMs = 0,
): Promise<LatencyStats> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
    const t0 = performance.now();
    await op();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return {
    n,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    mean: samples.reduce((a, b) => a + b, 0) / n,
  };
}

/** Runs `op` `calls` times keeping `concurrency` in flight; returns the completed calls per second. */
export async function concurrent(
  calls: number,
  concurrency: number,
  op: () => Promise<unknown>,
): Promise<ThroughputStats> {
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < calls) {
      next++;
      await op();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { calls, concurrency, seconds, callsPerSecond: calls / seconds };
}

/** Median of each field over several rounds. */
export function medianLatency(rounds: readonly LatencyStats[]): LatencyStats {
  return {
    n: rounds[0]?.n ?? 0,
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    mean: median(rounds.map((r) => r.mean)),
  };
}

export function medianThroughput(rounds: readonly ThroughputStats[]): ThroughputStats {
  return {
    calls: rounds[0]?.calls ?? 0,
    concurrency: rounds[0]?.concurrency ?? 0,
    seconds: median(rounds.map((r) => r.seconds)),
    callsPerSecond: median(rounds.map((r) => r.callsPerSecond)),
  };
}

/** A plain text table: first row is the header; columns are padded, numbers right-aligned. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const [header, ...body] = rows;
  if (!header) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

export function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}
