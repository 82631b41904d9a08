/**
 * Folds client names the way ClusterShell's nodesets do: `web-1 web-2 web-3 web-7 db` becomes
 * `db, web-[1-3,7]`, so a group of a thousand identical answers is one short line. Names are
 * split into a prefix and a trailing number; numbers with leading zeros keep their width.
 */
export function foldNames(names: readonly string[]): string {
  const byPrefix = new Map<string, { nums: Map<number, string>; plain: boolean }>();
  for (const name of names) {
    const m = /^(.*?)(\d+)$/.exec(name);
    const prefix = m ? (m[1] ?? '') : name;
    const entry = byPrefix.get(prefix) ?? { nums: new Map(), plain: false };
    if (m) entry.nums.set(Number(m[2]), m[2] ?? '');
    else entry.plain = true;
    byPrefix.set(prefix, entry);
  }
  const parts: string[] = [];
  for (const prefix of [...byPrefix.keys()].sort()) {
    const { nums, plain } = byPrefix.get(prefix)!;
    if (plain) parts.push(prefix);
    if (nums.size === 0) continue;
    const sorted = [...nums.keys()].sort((a, b) => a - b);
    if (sorted.length === 1) {
      parts.push(`${prefix}${nums.get(sorted[0]!)}`);
      continue;
    }
    const ranges: string[] = [];
    let start = sorted[0]!;
    let prev = start;
    const flush = () =>
      ranges.push(start === prev ? nums.get(start)! : `${nums.get(start)}-${nums.get(prev)}`);
    for (const n of sorted.slice(1)) {
      if (n === prev + 1) {
        prev = n;
        continue;
      }
      flush();
      start = n;
      prev = n;
    }
    flush();
    parts.push(`${prefix}[${ranges.join(',')}]`);
  }
  return parts.join(', ');
}
