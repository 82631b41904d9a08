import { ReachError } from '@reach/protocol';
import { serverHelp } from '../config/help.ts';
import { loadServerConfig } from '../config/server-config.ts';
import { createLogger } from '../log/logger.ts';
import { SERVER_VERSION } from '../version.ts';
import { authorizeKey } from './authorize.ts';

/** Where a CLI run reads and writes; bin.ts passes the process's, tests their own. */
export interface ServerCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted by bin.ts on SIGINT/SIGTERM: a running server closes and the command resolves. */
  signal?: AbortSignal | undefined;
}

/** One `reach-server` command, declared as data: `--help` lists them in this order. */
interface ServerCommand {
  /** The first positional that selects it; '' is the server itself. */
  name: string;
  usage: string;
  description: string;
  run(argv: string[], io: ServerCliIo): Promise<number>;
}

/** Subcommands with flags of their own share only `--data-dir` with the server. */
function splitDataDir(argv: string[], io: ServerCliIo): { dataDir: string; secret?: string; rest: string[] } {
  const rest = [...argv];
  const at = rest.indexOf('--data-dir');
  const dataDirArgs = at >= 0 ? rest.splice(at, 2) : [];
  const { config } = loadServerConfig(dataDirArgs, io.env);
  return {
    dataDir: config.dataDir,
    rest,
    ...(config.webhookSecret === undefined ? {} : { secret: config.webhookSecret }),
  };
}

const COMMANDS: readonly ServerCommand[] = [
  {
    name: '',
    usage: 'reach-server [flags]',
    description: 'run the server (MCP over stdio by default; --transport http for the daemon)',
    run: async (argv, io) => (await import('./serve.ts')).serveCommand(argv, io),
  },
  {
    name: 'authorize',
    usage: 'reach-server authorize <pubkey-file|key-text>',
    description: 'allow a client key (appends to <data-dir>/authorized_keys)',
    run: async (argv, io) => {
      const { config, positionals } = loadServerConfig(argv, io.env);
      // Flags may come before the command (`--data-dir D authorize KEY`): drop its name.
      const key = positionals.slice(positionals[0] === 'authorize' ? 1 : 0).join(' ');
      if (!key) throw new ReachError('INVALID_ARGUMENT', 'authorize needs a public key file or key text');
      const result = await authorizeKey(config.dataDir, key);
      io.stdout.write(
        result.added
          ? `authorized ${result.fingerprint} (${result.path})\n`
          : `already authorized: ${result.fingerprint}\n`,
      );
      return 0;
    },
  },
  {
    name: 'audit',
    usage: 'reach-server audit [--client X] [--since 24h|ISO] [--tool T] [--limit N] [--json]',
    description: 'who did what to which client (reach-server audit --help)',
    run: async (argv, io) => {
      const { dataDir, rest } = splitDataDir(argv, io);
      const { auditCommand } = await import('../audit/audit-command.ts');
      return auditCommand(rest, { dataDir, stdout: io.stdout, stderr: io.stderr });
    },
  },
  {
    name: 'webhooks',
    usage: 'reach-server webhooks [--limit N] [--json] [--requeue]',
    description: 'the webhook outbox and its dead letters',
    run: async (argv, io) => {
      const { dataDir, rest } = splitDataDir(argv, io);
      const { webhooksCommand } = await import('../webhooks/webhooks-command.ts');
      return webhooksCommand(rest, { dataDir, stdout: io.stdout, stderr: io.stderr });
    },
  },
  {
    name: 'webhook-test-receiver',
    usage: 'reach-server webhook-test-receiver [--port N] [--host H] [--log FILE]',
    description: 'a local receiver that verifies and logs signed webhooks',
    run: async (argv, io) => {
      const { secret, rest } = splitDataDir(argv, io);
      const { webhookTestReceiverCommand } = await import('../webhooks/test-receiver.ts');
      return webhookTestReceiverCommand(rest, {
        ...(secret === undefined ? {} : { secret }),
        stdout: io.stdout,
        stderr: io.stderr,
        ...(io.signal === undefined ? {} : { signal: io.signal }),
      });
    },
  },
  {
    name: 'release',
    usage: 'reach-server release install|publish|list|sign … (reach-server release --help)',
    description: 'serve a dist/release at /latest and /releases; publish signed ones on a channel',
    run: async (argv, io) => {
      const { releaseCommand } = await import('../releases/release-command.ts');
      return releaseCommand(argv, { env: io.env, stdout: io.stdout, stderr: io.stderr });
    },
  },
  {
    name: 'update',
    usage: 'reach-server update --version V --all | --client ID | --tag T [--wait]; update status [ID]',
    description: 'roll a signed release out to clients through the running daemon (update --help)',
    run: async (argv, io) => {
      const { updateCommand } = await import('../rollout/update-command.ts');
      return updateCommand(argv, { env: io.env, stdout: io.stdout });
    },
  },
  {
    name: 'release-key',
    usage: 'reach-server release-key generate --out DIR [--force]',
    description: 'make the offline release signing key pair (minisign format)',
    run: async (argv, io) => {
      const { releaseKeyCommand } = await import('../releases/release-key-command.ts');
      return releaseKeyCommand(argv, { env: io.env, stdout: io.stdout, stderr: io.stderr });
    },
  },
  {
    name: 'install-service',
    usage: 'reach-server install-service [--uninstall] [--help]',
    description: 'install (or remove) the systemd unit reach-mcp (root)',
    run: async (argv, io) => {
      const { installServiceCommand } = await import('../service/install-service-command.ts');
      return installServiceCommand(argv, { out: (line) => io.stdout.write(`${line}\n`) });
    },
  },
];

/** The `reach-server --help` text. */
export function usage(): string {
  return serverHelp(SERVER_VERSION, COMMANDS);
}

/** Exit codes: 0 ok, 1 failure, 2 usage error (a bad flag or value). */
const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * The `reach-server` CLI: returns the exit code and never calls process.exit (bin.ts does). A
 * failure the user can cause (a ReachError other than INTERNAL_ERROR) prints one line; a bug
 * prints its stack (STYLE 18).
 */
export async function runCli(argv: string[], io: ServerCliIo): Promise<number> {
  const sub = COMMANDS.find((c) => c.name !== '' && c.name === argv[0]);
  // A subcommand with flags of its own answers its own --help.
  if (sub === undefined || sub.name === 'authorize') {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout.write(usage());
      return EXIT.ok;
    }
    if (argv.includes('--version') || argv.includes('-V')) {
      io.stdout.write(`reach-server ${SERVER_VERSION}\n`);
      return EXIT.ok;
    }
  }
  try {
    if (sub !== undefined) return await sub.run(argv.slice(1), io);
    // `authorize` parses the server's flags, so they may come first: `--data-dir D authorize KEY`.
    const { positionals } = loadServerConfig(argv, io.env);
    const named = COMMANDS.find((c) => c.name === 'authorize' && c.name === positionals[0]);
    const command = named ?? COMMANDS[0];
    if (command === undefined) return EXIT.failure;
    return await command.run(argv, io);
  } catch (err) {
    if (err instanceof ReachError && err.code !== 'INTERNAL_ERROR') {
      io.stderr.write(`reach-server${sub === undefined ? '' : ` ${sub.name}`}: ${err.message}\n`);
      return err.code === 'INVALID_ARGUMENT' ? EXIT.usage : EXIT.failure;
    }
    io.stderr.write(
      `reach-server: unexpected error (a bug)\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    return EXIT.failure;
  }
}

/** Logger for the server command, from its config (log level and file). */
export function serverLogger(config: ReturnType<typeof loadServerConfig>['config']) {
  return createLogger(
    config.logLevel,
    undefined,
    config.logFile
      ? { path: config.logFile, maxBytes: config.logMaxBytes, maxFiles: config.logMaxFiles }
      : undefined,
  );
}
