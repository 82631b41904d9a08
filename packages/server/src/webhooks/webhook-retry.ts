import type { WebhookConfig } from './webhook-config.ts';

export type RetryDecision = { dead: false; delayMs: number } | { dead: true; reason: string };

/**
 * What to do after failed attempt number `attempts` (1-based) of an event whose retry window began
 * `ageMs` ago: the first `maxRetries` retries always happen; later ones until `maxAgeS` or
 * `maxAttempts`. Delay: base·2^(attempts−1) capped at `maxDelayMs`, with "equal jitter" (a uniform
 * value in [d/2, d]) so many targets failing together do not retry in lockstep.
 */
export function nextRetry(
  config: Pick<WebhookConfig, 'maxRetries' | 'maxAttempts' | 'maxAgeS' | 'baseDelayMs' | 'maxDelayMs'>,
  attempts: number,
  ageMs: number,
  random: () => number = Math.random,
): RetryDecision {
  if (attempts >= config.maxAttempts) return { dead: true, reason: `gave up after ${attempts} attempts` };
  if (attempts > config.maxRetries && ageMs >= config.maxAgeS * 1000) {
    return { dead: true, reason: `gave up after ${attempts} attempts over ${Math.round(ageMs / 1000)} s` };
  }
  const capped = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** Math.min(attempts - 1, 40));
  return { dead: false, delayMs: Math.ceil(capped / 2 + random() * (capped / 2)) };
}
