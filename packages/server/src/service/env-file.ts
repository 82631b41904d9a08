/**
 * systemd `EnvironmentFile=` syntax (systemd.exec(5)): `KEY=VALUE` lines, `#` or `;` comments,
 * values optionally in single or double quotes. Returns the assignments in file order.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q)) {
      value = value.slice(1, -1);
      if (q === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    }
    env[key] = value;
  }
  return env;
}

/** Variables whose value is a credential: a file holding any of them must be owner-only. */
const SECRET = /(^|_)(API_KEY|SECRET|SECRET_KEY|ACCESS_KEY|TOKEN|PASSWORD)$/;

/** Names of the credentials set (non-empty) in an env file. */
export function secretsIn(env: Readonly<Record<string, string>>): string[] {
  return Object.entries(env)
    .filter(([k, v]) => v !== '' && SECRET.test(k))
    .map(([k]) => k);
}
