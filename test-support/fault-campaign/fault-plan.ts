/** Which faults a campaign injects, drawn from a seed so a failing run can be repeated exactly. */

export const FAULT_OPS = ['write_file', 'upload_file', 'download_file', 'run_command'] as const;
export type FaultOp = (typeof FAULT_OPS)[number];
export const VICTIMS = ['client', 'server'] as const;
export type Victim = (typeof VICTIMS)[number];

export interface FaultPlan {
  /** 0-based position in the campaign; names the fault's directories and idempotency key. */
  index: number;
  op: FaultOp;
  victim: Victim;
  /**
   * When to kill, as a fraction of the operation's window (0–1): of its calibrated duration for
   * the file operations, of the first part of its `sleep` for run_command.
   */
  at: number;
  /**
   * `rename`: no seeded moment — the victim is killed the instant the destination is renamed into
   * place (seen by inotify), i.e. after the new content landed and before the outcome is recorded.
   */
  moment?: 'seeded' | 'rename';
}

/** The side that renames each file operation's destination into place (and records its outcome). */
export const RENAMER: Partial<Record<FaultOp, Victim>> = {
  write_file: 'client',
  upload_file: 'client',
  download_file: 'server',
};

/** mulberry32: a small seeded PRNG, uniform on [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `count` faults spread evenly over every op × victim (round robin, so 24 gives 3 of each), in a
 * seeded shuffled order, each with a seeded kill moment.
 */
export function planFaults(seed: number, count: number, atRename = 0): FaultPlan[] {
  const random = seededRandom(seed);
  const combos = FAULT_OPS.flatMap((op) => VICTIMS.map((victim) => ({ op, victim })));
  const picks = Array.from({ length: count }, (_, i) => combos[i % combos.length] ?? combos[0]);
  for (let i = picks.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [picks[i], picks[j]] = [picks[j], picks[i]];
  }
  const plans: FaultPlan[] = picks.map((p, index) => ({
    index,
    op: p?.op ?? 'write_file',
    victim: p?.victim ?? 'client',
    at: random(),
  }));
  // Then `atRename` faults of each file operation that kill its renamer at the rename.
  for (let i = 0; i < atRename; i++) {
    for (const [op, victim] of Object.entries(RENAMER) as Array<[FaultOp, Victim]>) {
      plans.push({ index: plans.length, op, victim, at: 0, moment: 'rename' });
    }
  }
  return plans;
}
