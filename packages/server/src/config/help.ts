import { OPTION_GROUPS, type OptionGroup, type OptionSpec } from './option-spec.ts';
import { SERVER_OPTIONS } from './server-options.ts';

/** One `reach-server` subcommand as `--help` lists it. */
export interface CommandUsage {
  usage: string;
  description: string;
}

const rows = (): OptionSpec[] => Object.values(SERVER_OPTIONS);

/** `--ssh-port N` (or `REACH_WEBHOOK_SECRET` for an environment-only option). */
export function optionLabel(spec: OptionSpec): string {
  if (spec.flag === null) return `REACH_${spec.env}`;
  return spec.arg === undefined ? `--${spec.flag}` : `--${spec.flag} ${spec.arg}`;
}

/** `default 2222, env REACH_SSH_PORT`. */
export function optionNotes(spec: OptionSpec): string {
  const notes: string[] = [];
  if (spec.default !== undefined && spec.default !== '') notes.push(`default ${spec.default}`);
  if (spec.flag !== null && spec.env !== null) notes.push(`env REACH_${spec.env}`);
  return notes.join(', ');
}

/** The whole `reach-server --help` text, built from the option table and the command list. */
export function serverHelp(version: string, commands: readonly CommandUsage[]): string {
  const out = [
    `reach-server ${version} — the Reach server: an embedded SSH server clients dial out to, and MCP tools over them`,
    '',
    'Usage:',
    ...commands.flatMap((c) => [`  ${c.usage}`, `      ${c.description}`]),
    '',
    'Flags may also be set in the environment (REACH_<NAME>); flags win over the environment.',
  ];
  const labelWidth = Math.max(...rows().map((r) => optionLabel(r).length)) + 2;
  for (const [group, title] of Object.entries(OPTION_GROUPS) as [OptionGroup, string][]) {
    const inGroup = rows().filter((r) => r.group === group);
    if (inGroup.length === 0) continue;
    out.push('', `${title}:`);
    for (const spec of inGroup) {
      const notes = optionNotes(spec);
      out.push(`  ${optionLabel(spec).padEnd(labelWidth)}${spec.help}${notes ? ` (${notes})` : ''}`);
    }
  }
  out.push(
    '',
    'Other:',
    `  ${'-h, --help'.padEnd(labelWidth)}this help`,
    `  ${'-V, --version'.padEnd(labelWidth)}print the version`,
    '',
  );
  return out.join('\n');
}
