/**
 * Orders two release versions (`1.2.3` or `1.2.3-beta.1`, RELEASE_VERSION): negative when `a` is
 * older. A pre-release sorts before its release (SemVer 2.0.0 §11); pre-release identifiers compare
 * numerically when both are digits, else as text.
 */
export function compareVersions(a: string, b: string): number {
  const [coreA = '', preA] = splitVersion(a);
  const [coreB = '', preB] = splitVersion(b);
  const na = coreA.split('.').map(Number);
  const nb = coreB.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (na[i] ?? 0) - (nb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (preA === undefined || preB === undefined) {
    if (preA === preB) return 0;
    return preA === undefined ? 1 : -1;
  }
  const ia = preA.split('.');
  const ib = preB.split('.');
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const x = ia[i];
    const y = ib[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const digits = /^\d+$/;
    if (digits.test(x) && digits.test(y)) return Math.sign(Number(x) - Number(y));
    return x < y ? -1 : 1;
  }
  return 0;
}

function splitVersion(v: string): [string, string | undefined] {
  const dash = v.indexOf('-');
  return dash < 0 ? [v, undefined] : [v.slice(0, dash), v.slice(dash + 1)];
}
