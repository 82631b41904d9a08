import { OPTION_GROUPS, type OptionGroup, type OptionSpec } from '../config/option-spec.ts';
import { SERVER_OPTIONS } from '../config/server-options.ts';

/** What the unit fixes itself, so the env file only says so (flags win over the environment). */
const SET_BY_UNIT: Record<string, string> = {
  TRANSPORT: 'the unit passes --transport http',
  SERVER_HOME: 'the unit passes --data-dir',
};

/**
 * The commented env file `install-service` writes to /etc/reach/server.env when there is none,
 * made from the one option table so that it lists every variable the server reads and nothing
 * else; `deploy/server.env.example` is this text with an empty key (a test keeps them equal).
 * `apiKey` is the fresh key written uncommented.
 */
export function renderServerEnvTemplate(apiKey: string): string {
  const out = [
    '# Settings of the reach-mcp service (systemd EnvironmentFile syntax: KEY=VALUE, # comments).',
    '# Keep it owner-only (root, chmod 600): it holds the API key; systemd reads it before the',
    '# service drops to its own user. After a change: systemctl restart reach-mcp',
    '# Every variable is optional; a commented line shows the default. Generated from the option',
    '# table (reach-server --help lists the same settings as flags).',
  ];
  const rows = Object.values(SERVER_OPTIONS) as OptionSpec[];
  for (const [group, title] of Object.entries(OPTION_GROUPS) as Array<[OptionGroup, string]>) {
    const inGroup = rows.filter((r) => r.group === group && r.env !== null);
    if (inGroup.length === 0) continue;
    out.push('', `## ${title}`);
    for (const row of inGroup) {
      const env = row.env as string;
      const aliases = row.aliases?.length ? ` (also read as ${row.aliases.join(', ')})` : '';
      const unit = SET_BY_UNIT[env] ? `; ${SET_BY_UNIT[env]}, which wins` : '';
      out.push(`# ${row.help}${aliases}${unit}`);
      out.push(env === 'API_KEY' ? `REACH_API_KEY=${apiKey}` : `#REACH_${env}=${row.default ?? ''}`);
    }
  }
  return `${out.join('\n')}\n`;
}
