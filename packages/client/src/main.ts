import { parseArgs } from 'node:util';
import { ReachError } from '@reach/protocol';
import { type CliIo, type Command, EXIT } from './commands/command.ts';
import { listClientsCommand } from './commands/list-clients.ts';
import { runAgentCommand } from './commands/run-agent.ts';
import { installServiceCommand, uninstallServiceCommand } from './commands/service-commands.ts';
import {
  generateKeyCommand,
  initCommand,
  showKeyCommand,
  showUuidCommand,
} from './commands/setup-commands.ts';
import type { ClientConfigInput } from './config/schema.ts';
import { platformFor } from './platform/platform.ts';
import { sshCryptoPath } from './tunnel/crypto-path.ts';
import { VERSION } from './version.ts';

/** The actions, each selected by its flag; with none the agent runs. */
const COMMANDS: readonly Command[] = [
  initCommand,
  generateKeyCommand,
  showKeyCommand,
  showUuidCommand,
  listClientsCommand,
  installServiceCommand,
  uninstallServiceCommand,
];

/** Every option: parseArgs spec and help text side by side. */
const OPTIONS = {
  init: { type: 'boolean', help: initCommand.description },
  'generate-key': { type: 'boolean', help: generateKeyCommand.description },
  force: { type: 'boolean', help: 'with --generate-key: replace an existing key' },
  'update-public-key': {
    type: 'string',
    arg: 'KEY',
    help: 'with --init: the release key updates must be signed by (minisign key line or release.pub file)',
  },
  'show-key': { type: 'boolean', help: showKeyCommand.description },
  'show-uuid': { type: 'boolean', help: showUuidCommand.description },
  'list-clients': { type: 'boolean', help: listClientsCommand.description },
  json: { type: 'boolean', help: 'with --list-clients: print JSON' },
  'install-service': { type: 'boolean', help: installServiceCommand.description },
  'uninstall-service': { type: 'boolean', help: uninstallServiceCommand.description },
  user: { type: 'boolean', help: 'with --install-service: a systemd user service (the default)' },
  system: { type: 'boolean', help: 'with --install-service: a system service (root), run as $SUDO_USER' },
  'no-start': { type: 'boolean', help: 'with --install-service: write the unit, do not enable it' },
  root: {
    type: 'string',
    arg: 'DIR',
    help: 'with --install-service --system: write under DIR, start nothing',
  },
  exec: {
    type: 'string',
    arg: 'PROGRAM',
    help: 'with --install-service: the command the unit runs (default: this one)',
  },
  server: { type: 'string', short: 's', arg: 'HOST', help: 'server hostname (overrides server_host)' },
  port: { type: 'string', short: 'p', arg: 'PORT', help: 'server SSH port (overrides server_port)' },
  verbose: { type: 'boolean', short: 'v', help: 'debug logging' },
  config: { type: 'string', arg: 'DIR', help: 'config directory (default $REACH_HOME or ~/.reach)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', short: 'V', help: 'print the version' },
} as const satisfies Record<
  string,
  { type: 'boolean' | 'string'; short?: string; arg?: string; help: string }
>;

export function usage(): string {
  const lines = Object.entries(OPTIONS).map(([name, o]) => {
    const short = 'short' in o ? `-${o.short}, ` : '    ';
    const arg = 'arg' in o ? ` ${o.arg}` : '';
    return `  ${short}--${name}${arg}`.padEnd(30) + o.help;
  });
  return [
    'Usage: reach [options]',
    '',
    'With no action flag, connects to the server and serves agent requests until stopped.',
    '',
    ...lines,
    '',
    'Environment: REACH_HOME, REACH_SERVER_HOST, REACH_SERVER_PORT, REACH_LOG_LEVEL, … (ETPHONEHOME_* still read).',
    '',
  ].join('\n');
}

function defaultIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    platform: platformFor(process.platform),
  };
}

/**
 * The `reach` CLI. Returns the exit code; never calls process.exit (bin.ts does). A user's mistake
 * prints one line; a bug prints its stack.
 */
export async function main(argv: string[], ioOverrides: Partial<CliIo> = {}): Promise<number> {
  const io: CliIo = { ...defaultIo(), ...ioOverrides };
  let values: {
    [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
  };
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (err) {
    io.stderr(`reach: ${(err as Error).message}\nTry \`reach --help\`.\n`);
    return EXIT.usage;
  }
  if (values.help) {
    io.stdout(usage());
    return EXIT.ok;
  }
  if (values.version) {
    io.stdout(`reach ${VERSION} (node ${process.versions.node}, ssh crypto: ${sshCryptoPath()})\n`);
    return EXIT.ok;
  }
  const chosen = COMMANDS.filter((c) => values[c.flag as keyof typeof values] === true);
  if (chosen.length > 1) {
    io.stderr(`reach: choose one of ${chosen.map((c) => `--${c.flag}`).join(', ')}\n`);
    return EXIT.usage;
  }
  const command = chosen[0] ?? runAgentCommand;

  const flags: Partial<ClientConfigInput> = {};
  if (values.server !== undefined) flags.server_host = values.server;
  if (values.port !== undefined) flags.server_port = values.port;
  if (values.verbose) flags.log_level = 'debug';
  const warned = new Set<string>();
  const sources = {
    env: io.env,
    configDir: values.config,
    flags,
    homedir: io.homedir,
    platform: io.platform,
    warn: (message: string) => {
      if (warned.has(message)) return;
      warned.add(message);
      io.stderr(`reach: warning: ${message}\n`);
    },
  };
  try {
    return await command.run({
      io,
      sources,
      force: values.force === true,
      json: values.json === true,
      flags: values,
      argv,
    });
  } catch (err) {
    if (err instanceof ReachError && err.code !== 'INTERNAL_ERROR') {
      io.stderr(`reach: ${err.message}\n`);
      return err.code === 'SSH_HOST_KEY_MISMATCH' ? EXIT.hostKeyMismatch : EXIT.failure;
    }
    io.stderr(
      `reach: unexpected error\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return EXIT.failure;
  }
}
