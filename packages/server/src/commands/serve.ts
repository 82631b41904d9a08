import { ReachError } from '@reach/protocol';
import { loadServerConfig } from '../config/server-config.ts';
import { findRunningDaemon } from '../daemon/daemon-file.ts';
import type { ServerCliIo } from './cli.ts';
import { serverLogger } from './cli.ts';

/**
 * `reach-server [flags]`: runs the server until stdin closes (stdio) or the signal aborts. With
 * `--transport stdio` and an HTTP daemon on the same data dir already serving the same SSH port,
 * it bridges stdio to that daemon instead of failing on the port (./mcp/stdio-bridge.ts).
 */
export async function serveCommand(argv: string[], io: ServerCliIo): Promise<number> {
  const { config, positionals, warnings } = loadServerConfig(argv, io.env);
  if (positionals.length > 0) {
    throw new ReachError('INVALID_ARGUMENT', `unknown command ${positionals[0]} (see reach-server --help)`);
  }
  const log = serverLogger(config);
  for (const w of warnings) log.warn(w);

  if (config.transport === 'stdio') {
    const daemon = await findRunningDaemon(config.dataDir, config.sshPort);
    if (daemon !== undefined) {
      const { runStdioBridge } = await import('../mcp/stdio-bridge.ts');
      io.stderr.write(
        `reach-server: a daemon (pid ${daemon.pid}) already serves ${config.dataDir} on SSH port ${daemon.sshPort}; bridging stdio to ${daemon.mcpUrl}\n`,
      );
      await runStdioBridge({ url: daemon.mcpUrl, apiKey: daemon.apiKey, log, signal: io.signal });
      return 0;
    }
  }

  // Imported here so `--help` and `authorize` do not load node:sqlite (and its experimental warning).
  const { startServer } = await import('../main.ts');
  const server = await startServer(config, { log }).catch((err: unknown) => {
    throw config.transport === 'stdio' ? withBridgeHint(err, config.dataDir) : err;
  });
  io.stderr.write(
    `reach-server: SSH on ${config.sshHost}:${server.sshPort}, host key ${server.hostKeyFingerprint}\n`,
  );
  if (server.httpPort !== undefined) {
    io.stderr.write(`reach-server: MCP on http://${config.host}:${server.httpPort}/mcp\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = (reason: string): void => {
      log.info({ reason }, 'shutting down');
      resolve();
    };
    if (io.signal?.aborted) stop('signal');
    io.signal?.addEventListener('abort', () => stop('signal'), { once: true });
    server.ended.then(() => stop('stdin closed'));
  });
  await server.close();
  return 0;
}

/** A stdio server whose SSH port is taken: say how to reach the daemon that may hold it. */
function withBridgeHint(err: unknown, dataDir: string): unknown {
  if (
    !(err instanceof ReachError) ||
    err.details?.flag !== '--ssh-port' ||
    err.details.errno !== 'EADDRINUSE'
  ) {
    return err;
  }
  return new ReachError(
    'INVALID_ARGUMENT',
    `${err.message}. No reach-server daemon is recorded in ${dataDir}: if one holds the port, pass its --data-dir so stdio bridges to it`,
    { details: err.details, cause: err },
  );
}
