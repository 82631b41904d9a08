/**
 * Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter"): a uniform delay in [0, min(max, base·2^attempt)). Seconds in, milliseconds out.
 */
export function backoffDelayMs(
  attempt: number,
  baseS: number,
  maxS: number,
  random: () => number = Math.random,
): number {
  const ceilingS = Math.min(maxS, baseS * 2 ** Math.min(attempt, 32));
  return Math.floor(random() * ceilingS * 1000);
}
