import { createHash, timingSafeEqual } from 'node:crypto';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** A stable name for a key that reveals nothing usable: the first 48 bits of its SHA-256. */
export function keyIdOf(key: string): string {
  return `key:${digest(key).toString('hex').slice(0, 12)}`;
}

/** Answers the key id of a configured key equal to `value`, or undefined. */
export type KeyMatcher = (value: string) => string | undefined;

/**
 * Compares a presented key with every configured key in constant time: both sides are hashed
 * to equal length first and every key is tried, so neither the position of a match nor the
 * length of a near miss shows in the timing. Shared by the bearer header and the sign-in route.
 */
export function keyMatcher(apiKeys: readonly string[]): KeyMatcher {
  const expected = apiKeys.map((k) => ({ digest: digest(k), id: keyIdOf(k) }));
  return (value) => {
    const d = digest(value);
    let found: string | undefined;
    for (const e of expected) if (timingSafeEqual(d, e.digest)) found ??= e.id;
    return found;
  };
}
