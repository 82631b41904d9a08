/**
 * Longest peer-supplied string (SSH user name, key algorithm, request name, …) kept in a log line
 * or a stored field, in UTF-16 code units. 128 holds any real user or algorithm name; an
 * unauthenticated peer once turned 5 KB on the wire into a 2 MB log line.
 */
export const PEER_TEXT_MAX = 128;

/**
 * `value` cut to `max` code units, with how much was cut (`…[+N]`), so a log line stays small
 * whatever a peer sent and still shows that the value was long.
 */
export function boundedText(value: string, max: number = PEER_TEXT_MAX): string {
  if (value.length <= max) return value;
  return `${value.slice(0, max)}…[+${value.length - max}]`;
}
