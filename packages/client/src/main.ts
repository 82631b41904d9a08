import { parseArgs } from 'node:util';
// The errors module alone: the package's index would build every agent schema at start-up.
import { ReachError } from '@reach/protocol/errors';
import { type CliIo, type Command, EXIT } from './commands/command.ts';
import type { ClientConfigInput } from './config/schema.ts';
import { sshCryptoPath } from './tunnel/crypto-path.ts';
import { VERSION } from './version.ts';

/** An action, selected by its flag; its module is loaded only when it is chosen. */
interface CommandEntry {
  flag: string;
  description: string;
  load: () => Promise<Command>;
}

/**
 * The actions; with none the agent runs. Loaded lazily (esbuild keeps each one's module
 * unevaluated until its import() runs), so `--version` and `--help` do not build the agent's
 * zod schemas, ssh2 parsers and handlers first: the executable's `--version` went 77 → 40–47 ms (bench:release).
 */
const COMMANDS = [
  {
    flag: 'init',
    description: 'create the config directory, a default config.yaml and this client’s UUID',
    load: async () => (await import('./commands/setup-commands.ts')).initCommand,
  },
  {
    flag: 'generate-key',
    description: 'generate the ed25519 key pair (refuses to overwrite without --force)',
    load: async () => (await import('./commands/setup-commands.ts')).generateKeyCommand,
  },
  {
    flag: 'show-key',
    description: 'print the public key',
    load: async () => (await import('./commands/setup-commands.ts')).showKeyCommand,
  },
  {
    flag: 'show-uuid',
    description: 'print the client UUID',
    load: async () => (await import('./commands/setup-commands.ts')).showUuidCommand,
  },
  {
    flag: 'list-clients',
    description: 'ask the server for all known clients (add --json for JSON)',
    load: async () => (await import('./commands/list-clients.ts')).listClientsCommand,
  },
  {
    flag: 'install-service',
    description:
      'run this client as a service (systemd --user by default, --system, or a Windows logon task)',
    load: async () => (await import('./commands/service-commands.ts')).installServiceCommand,
  },
  {
    flag: 'uninstall-service',
    description: 'stop and remove the service --install-service made',
    load: async () => (await import('./commands/service-commands.ts')).uninstallServiceCommand,
  },
] as const satisfies readonly CommandEntry[];

const describe = (flag: (typeof COMMANDS)[number]['flag']): string =>
  COMMANDS.find((c) => c.flag === flag)?.description ?? '';

const runAgent = async (): Promise<Command> => (await import('./commands/run-agent.ts')).runAgentCommand;

/** Every option: parseArgs spec and help text side by side. */
const OPTIONS = {
  init: { type: 'boolean', help: describe('init') },
  'generate-key': { type: 'boolean', help: describe('generate-key') },
  force: { type: 'boolean', help: 'with --generate-key: replace an existing key' },
  'update-public-key': {
    type: 'string',
    arg: 'KEY',
    help: 'with --init: the release key updates must be signed by (minisign key line or release.pub file)',
  },
  'show-key': { type: 'boolean', help: describe('show-key') },
  'show-uuid': { type: 'boolean', help: describe('show-uuid') },
  'list-clients': { type: 'boolean', help: describe('list-clients') },
  json: { type: 'boolean', help: 'with --list-clients: print JSON' },
  'install-service': { type: 'boolean', help: describe('install-service') },
  'uninstall-service': { type: 'boolean', help: describe('uninstall-service') },
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
  const command = await (chosen[0]?.load ?? runAgent)();
  io.platform ??= (await import('./platform/platform.ts')).platformFor(process.platform);

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
