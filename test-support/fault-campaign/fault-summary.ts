/** The campaign's figures as text tables: faults per op × victim, checks per kind, latencies. */
import { FAULT_OPS, VICTIMS } from './fault-plan.ts';
import { CHECK_KINDS, type FaultRecord } from './fault-record.ts';

/** Nearest-rank percentile. */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}

const ms = (v: number) => (Number.isNaN(v) ? '—' : `${(v / 1000).toFixed(2)} s`);
const row = (cells: Array<string | number>, widths: number[]) =>
  cells
    .map((c, i) => String(c).padEnd(widths[i] ?? 10))
    .join('  ')
    .trimEnd();

/** Lines of text summarising `records`. */
export function summarize(records: readonly FaultRecord[]): string[] {
  const out: string[] = [];
  const w = [14, 8, 7, 10, 10, 9, 9, 7];
  out.push(row(['op', 'victim', 'faults', 'at rename', 'in flight', 'dest new', 'dest old', 'failed'], w));
  for (const op of FAULT_OPS) {
    for (const victim of VICTIMS) {
      const rs = records.filter((r) => r.op === op && r.victim === victim);
      if (rs.length === 0) continue;
      out.push(
        row(
          [
            op,
            victim,
            rs.length,
            rs.filter((r) => r.atRename).length,
            rs.filter((r) => r.inFlight).length,
            rs.filter((r) => r.destination === 'new').length,
            rs.filter((r) => r.destination === 'old').length,
            rs.filter((r) => r.failures.length > 0).length,
          ],
          w,
        ),
      );
    }
  }
  out.push('');
  const cw = [18, 7, 7, 5];
  out.push(row(['check', 'passed', 'failed', 'n/a'], cw));
  for (const kind of CHECK_KINDS) {
    const count = (v: string) => records.filter((r) => r.checks[kind] === v).length;
    out.push(row([kind, count('pass'), count('fail'), count('n/a')], cw));
  }
  out.push('');
  const lw = [44, 4, 8, 8, 8];
  out.push(row(['latency (in-flight calls)', 'n', 'p50', 'p99', 'max'], lw));
  for (const victim of VICTIMS) {
    const ends = records.filter((r) => r.victim === victim && r.inFlight).map((r) => r.callEndMs);
    out.push(
      row(
        [
          `call end after a ${victim} kill`,
          ends.length,
          ms(percentile(ends, 50)),
          ms(percentile(ends, 99)),
          ms(Math.max(...ends)),
        ],
        lw,
      ),
    );
  }
  const gone = records.flatMap((r) =>
    r.processesGoneMs !== undefined && r.processesGoneMs >= 0 ? [r.processesGoneMs] : [],
  );
  out.push(
    row(
      [
        'command processes gone after a client kill',
        gone.length,
        ms(percentile(gone, 50)),
        ms(percentile(gone, 99)),
        ms(Math.max(...gone)),
      ],
      lw,
    ),
  );
  for (const victim of VICTIMS) {
    const back = records.filter((r) => r.victim === victim).map((r) => r.reconnectMs);
    out.push(
      row(
        [
          `client online again after a ${victim} restart`,
          back.length,
          ms(percentile(back, 50)),
          ms(percentile(back, 99)),
          ms(Math.max(...back)),
        ],
        lw,
      ),
    );
  }
  out.push('');
  const integrity = records.filter((r) => r.checks.integrity !== 'n/a');
  const bad = integrity.filter((r) => r.integrity !== 'ok');
  out.push(
    `SQLite integrity_check: ${integrity.length - bad.length}/${integrity.length} ok ` +
      `(${records.filter((r) => r.victim === 'server').length} of them on the files a SIGKILLed server left)` +
      (bad.length ? `; not ok: ${bad.map((r) => `#${r.index} ${r.integrity}`).join(', ')}` : ''),
  );
  const failed = records.filter((r) => r.failures.length > 0);
  if (failed.length) {
    out.push('', 'failures:');
    for (const r of failed) out.push(`  #${r.index} ${r.op} / ${r.victim}: ${r.failures.join(' | ')}`);
  }
  return out;
}
