import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How a process's V8 heap is run while bulk transfers are in flight.
 *
 * A transfer allocates almost nothing on the JS heap but a fresh 32–64 KiB buffer (memory outside
 * the heap) for every socket read and SSH packet. V8 handles that badly in two ways, both measured
 * here on a 1 GiB download into the server (2 vCPUs, Node 24.21, `--trace-gc`):
 *
 * - The dead buffers are only noticed by a collection, and scavenges are paced by heap allocation,
 *   which bulk data barely does. The buffers pile up until V8's external-memory limit (~64 MiB)
 *   starts a full mark-compact: RSS grew 46–86 MiB. `collect` runs a scavenge instead, every
 *   32 MiB moved (TransferChannel): RSS growth 0–39 MiB.
 * - Even so, V8 kept starting incremental marking every 30–70 ms while the old generation stood
 *   still at ~20 MB ("Start (task)" and "Start (allocation limit)" with 12–24 MB of slack):
 *   ~48 mark-compacts per GiB, and the server's main thread spent 1.8 s of 4.4 s in GC. With
 *   incremental marking off for the transfer, a 1 GiB download had 1–6 mark-compacts and the
 *   server's user CPU fell from 2.6–2.9 s to 1.2–1.4 s; throughput went from 227–248 to
 *   396–512 MiB/s. A full collection is still done when one is really needed, atomically;
 *   on a heap this size that is a 5–20 ms pause. With 145 MB of the heap retained (a stand-in
 *   for a server with many clients) a download had 1–2 of them at up to 148 ms, against 2–17
 *   incremental ones at up to 134 ms without the policy; heartbeat p99 was no worse.
 *
 * `begin()` is reference-counted: incremental marking goes off when the first transfer starts and
 * comes back when the last one ends, so the process runs on V8's defaults the rest of the time.
 * V8 reads both flags when it decides, so setting them at run time takes effect at once; `gc` is
 * taken from a context created after `--expose-gc` is set (node:v8 setFlagsFromString).
 */
export interface BulkHeapPolicy {
  /** Marks a transfer as started; the returned function marks it ended (idempotent). */
  begin(): () => void;
  /** Runs a young-generation collection; called every 32 MiB a transfer moves. */
  collect(): void;
}

let policy: BulkHeapPolicy | undefined;

/** The process's policy, one per process. Costs nothing until a transfer begins. */
export function bulkHeapPolicy(): BulkHeapPolicy {
  policy ??= createBulkHeapPolicy();
  return policy;
}

type MinorGc = (opts: { type: 'minor' }) => void;

/** Builds a policy; `setFlags` and `execArgv` are parameters so tests can watch what it sets. */
export function createBulkHeapPolicy(
  setFlags: (flags: string) => void = setFlagsFromString,
  execArgv: readonly string[] = process.execArgv,
): BulkHeapPolicy {
  // An operator who started node with their own marking flag keeps it.
  const ownMarking = execArgv.some((a) => /^--(no-)?incremental[-_]marking$/.test(a));
  let active = 0;
  // Looked up on first use: the context it takes costs ~0.6 MiB of RSS, which an idle client
  // should not pay. null: this runtime offers none, and collect does nothing.
  let minor: MinorGc | null | undefined;
  return {
    begin() {
      if (!ownMarking && active++ === 0) setFlags('--no-incremental-marking');
      let ended = false;
      return () => {
        if (ended || ownMarking) return;
        ended = true;
        if (--active === 0) setFlags('--incremental-marking');
      };
    },
    collect() {
      if (minor === undefined) minor = lookUpMinorGc();
      minor?.({ type: 'minor' });
    },
  };
}

function lookUpMinorGc(): MinorGc | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as MinorGc) : null;
  } catch {
    return null;
  }
}
