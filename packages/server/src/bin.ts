#!/usr/bin/env node
import { ReachError } from '@reach/protocol';
import { authorizeKey } from './commands/authorize.ts';
import { loadServerConfig } from './config/server-config.ts';
import { createLogger } from './log/logger.ts';

const USAGE = `usage: reach-server [flags]                     run the server
       reach-server authorize <pubkey-file|key-text>   allow a client key
       reach-server audit [--data-dir D] [--client X] [--since 24h|ISO] [--tool T] [--limit N] [--json]
       reach-server webhooks [--data-dir D] [--limit N] [--json] [--requeue]   outbox and dead letters
       reach-server webhook-test-receiver [--port N] [--host H] [--log FILE]
       reach-server install-service [--uninstall] [--help]   systemd unit reach-mcp (root)
       reach-server release install DIR [--force] [--data-dir D] [--releases-dir D]   serve a dist/release
flags: --transport stdio|http  --host H  --port N  --ssh-host H  --ssh-port N  --data-dir DIR
       --api-key-file PATH (bearer keys, one a line, mode 0600; env REACH_API_KEY_FILE)
       --api-key KEY (visible to other users in ps: prefer --api-key-file or env REACH_API_KEY)
       --log-level LEVEL  --heartbeat-interval S
       --max-body-bytes N  --mcp-max-sessions N  --mcp-max-sessions-per-key N  --mcp-idle-timeout S`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'install-service') {
    const { installServiceCommand } = await import('./service/install-service-command.ts');
    try {
      return await installServiceCommand(argv.slice(1));
    } catch (err) {
      // A refused install is the operator's to fix: one line, nothing half-installed.
      if (err instanceof ReachError && err.code !== 'INTERNAL_ERROR') {
        process.stderr.write(`reach-server install-service: ${err.message}\n`);
        return err.code === 'INVALID_ARGUMENT' ? 2 : 1;
      }
      throw err;
    }
  }
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stderr.write(`${USAGE}\n`);
    return 0;
  }
  if (argv[0] === 'release') {
    const { releaseCommand } = await import('./releases/release-command.ts');
    return releaseCommand(argv.slice(1), {
      env: process.env,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  }
  // Subcommands with flags of their own; only --data-dir is shared with the server's flags.
  if (argv[0] === 'audit' || argv[0] === 'webhooks' || argv[0] === 'webhook-test-receiver') {
    const rest = argv.slice(1);
    const at = rest.indexOf('--data-dir');
    const dataDirArgs = at >= 0 ? rest.splice(at, 2) : [];
    const { config } = loadServerConfig(dataDirArgs, process.env);
    if (argv[0] === 'audit') {
      const { auditCommand } = await import('./audit/audit-command.ts');
      return auditCommand(rest, { dataDir: config.dataDir, stdout: process.stdout });
    }
    if (argv[0] === 'webhooks') {
      const { webhooksCommand } = await import('./webhooks/webhooks-command.ts');
      return webhooksCommand(rest, { dataDir: config.dataDir, stdout: process.stdout });
    }
    const { webhookTestReceiverCommand } = await import('./webhooks/test-receiver.ts');
    return webhookTestReceiverCommand(
      rest,
      config.webhookSecret === undefined ? {} : { secret: config.webhookSecret },
    );
  }
  const { config, positionals, warnings } = loadServerConfig(argv, process.env);
  const log = createLogger(
    config.logLevel,
    undefined,
    config.logFile
      ? { path: config.logFile, maxBytes: config.logMaxBytes, maxFiles: config.logMaxFiles }
      : undefined,
  );
  for (const w of warnings) log.warn(w);
  const [command, ...operands] = positionals;

  if (command === 'authorize') {
    const key = operands.join(' ');
    if (!key) throw new ReachError('INVALID_ARGUMENT', 'authorize needs a public key file or key text');
    const result = await authorizeKey(config.dataDir, key);
    process.stdout.write(
      result.added
        ? `authorized ${result.fingerprint} (${result.path})\n`
        : `already authorized: ${result.fingerprint}\n`,
    );
    return 0;
  }
  if (command !== undefined) throw new ReachError('INVALID_ARGUMENT', `unknown command ${command}\n${USAGE}`);

  // Imported here so `authorize` does not load node:sqlite (and its experimental warning).
  const { startServer } = await import('./main.ts');
  const server = await startServer(config, { log });
  process.stderr.write(
    `reach-server: SSH on ${config.sshHost}:${server.sshPort}, host key ${server.hostKeyFingerprint}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    server.ended.then(() => stop('stdin closed'));
  });
  await server.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ReachError && err.code === 'INVALID_ARGUMENT') {
      process.stderr.write(`reach-server: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `reach-server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
