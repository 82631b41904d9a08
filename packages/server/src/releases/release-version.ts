import { RELEASE_VERSION } from '@reach/protocol';

/** Orders `X.Y.Z[-pre]` versions (SemVer §11, pre-release identifiers compared as plain text). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string): [number[], string | undefined] => {
    const [core = '', pre] = v.split(/-(.*)/s, 2);
    return [core.split('.').map(Number), pre];
  };
  const [ca, pa] = parse(a);
  const [cb, pb] = parse(b);
  for (let i = 0; i < 3; i++) {
    const d = (ca[i] ?? 0) - (cb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (pa === pb) return 0;
  if (pa === undefined) return 1;
  if (pb === undefined) return -1;
  return pa < pb ? -1 : 1;
}

/** The highest of `names` that is a release version, if any. */
export function latestVersion(names: readonly string[]): string | undefined {
  return names
    .filter((n) => RELEASE_VERSION.test(n))
    .sort(compareVersions)
    .at(-1);
}
