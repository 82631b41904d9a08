/** What one fault left behind, and the verdict of each check on it. */
import type { FaultOp, Victim } from './fault-plan.ts';

/** The checks run after every fault (the "What it must show"). */
export const CHECK_KINDS = [
  'destination', // old or new content by sha256, nothing else
  'litter', // no visible or hidden stray file once the victim is back
  'call_end', // the in-flight call ended within 2 s of the kill
  'processes', // client kill mid run_command: its processes gone within 2 s
  'marker', // client kill mid run_command: the marker never appears
  'operation_status', // applied iff the destination is new; otherwise not_applied/unknown with why
  'integrity', // the server's SQLite passes PRAGMA integrity_check
] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];
export type Verdict = 'pass' | 'fail' | 'n/a';

/** Bound on how long after a kill the in-flight call and the command's processes may last. */
export const KILL_BOUND_MS = 2000;

export interface FaultRecord {
  index: number;
  op: FaultOp;
  victim: Victim;
  /** Seeded kill moment, as a fraction of the operation's window. */
  at: number;
  /** Killed the instant the destination was renamed into place (not at a seeded moment). */
  atRename: boolean;
  /** Call start → kill, ms. */
  killAfterMs: number;
  /** Whether the call was still running when the kill was sent. */
  inFlight: boolean;
  /** Kill → the call's end, ms (negative when it had ended before the kill). */
  callEndMs: number;
  /** `ok`, or the error code / thrown message the caller got. */
  callOutcome: string;
  /** Victim spawned → ready again (server: listening; client: online at the server), ms. */
  restartMs: number;
  /** Victim spawned → the client online at the server again, ms (the client's reconnect). */
  reconnectMs: number;
  destination: 'old' | 'new' | 'other';
  strays: string[];
  /** What operation_status said once the victim was back (and at the end, for run_command). */
  status: string;
  statusReason: string;
  /** Client kill mid run_command: kill → every process of the command gone, ms (-1: never seen gone). */
  processesGoneMs?: number;
  integrity: string;
  checks: Record<CheckKind, Verdict>;
  /** One line per failed check, saying what was seen. */
  failures: string[];
}

/** Marks `kind` passed or failed; a failure keeps `detail`. A failure is never overwritten by a pass. */
export function judge(record: FaultRecord, kind: CheckKind, ok: boolean, detail: string): void {
  if (record.checks[kind] === 'fail') {
    if (!ok) record.failures.push(`${kind}: ${detail}`);
    return;
  }
  record.checks[kind] = ok ? 'pass' : 'fail';
  if (!ok) record.failures.push(`${kind}: ${detail}`);
}

export function emptyChecks(): Record<CheckKind, Verdict> {
  return Object.fromEntries(CHECK_KINDS.map((k) => [k, 'n/a'])) as Record<CheckKind, Verdict>;
}

/** One line per fault, for a log. */
export function describe(r: FaultRecord): string {
  const failed = r.failures.length ? `  FAILED ${r.failures.join(' | ')}` : '';
  return (
    `#${r.index} ${r.op} kill ${r.victim} at ${r.killAfterMs.toFixed(0)} ms${r.atRename ? ' (at the rename)' : ''}${r.inFlight ? '' : ' (after the call ended)'}: ` +
    `call ${r.callOutcome} ${r.callEndMs.toFixed(0)} ms after, back in ${r.reconnectMs.toFixed(0)} ms, ` +
    `destination ${r.destination}, status ${r.status}${failed}`
  );
}
