import { ReachError } from '@reach/protocol';
import { readApiKeyFile } from './config/api-key-file.ts';
import { listenError } from './config/listen-error.ts';
import type { ServerConfig } from './config/server-config.ts';
import { writeDaemonFile } from './daemon/daemon-file.ts';
import { buildHttpApi } from './http/api/build-api.ts';
import { defaultAllowedHosts } from './http/host-check.ts';
import { createHttpApp } from './http/http-app.ts';
import { isLoopbackHost, listenHttp } from './http/http-server.ts';
import { recordingRoutes } from './http/recording-routes.ts';
import { defaultUiDir, locateStaticUi } from './http/static-ui.ts';
import { terminalWsRoute } from './http/terminal-ws-route.ts';
import type { Logger } from './log/logger.ts';
import type { ServerServices } from './main.ts';
import { LazyMcpHttpEndpoints } from './mcp/lazy-http-endpoints.ts';
import { SERVER_VERSION } from './version.ts';

/** A started transport set (MCP stdio / HTTP); closed first on shutdown. */
export interface Transports {
  /** Bound HTTP port (transport http). */
  httpPort?: number;
  /** Resolves when the transport ends by itself (stdio: the MCP host closed stdin). */
  ended?: Promise<void>;
  close(): Promise<void>;
}

/** The bearer keys HTTP accepts: `--api-key` and the lines of `--api-key-file`. */
async function apiKeysOf(config: ServerConfig): Promise<string[]> {
  return [
    ...(config.apiKey === undefined ? [] : [config.apiKey]),
    ...(config.apiKeyFile === undefined ? [] : await readApiKeyFile(config.apiKeyFile)),
  ];
}

/**
 * Refuses a transport configuration that would be unsafe, before anything listens or is written
 * (the composition root calls it first): HTTP on a non-loopback address needs an API key. A key
 * file is read here too, so a bad one stops the start just as early.
 */
export async function checkTransportConfig(config: ServerConfig): Promise<void> {
  if (config.transport !== 'http') return;
  const apiKeys = await apiKeysOf(config);
  if (!isLoopbackHost(config.host) && apiKeys.length === 0) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `refusing to serve HTTP on ${config.host} without an API key: set --api-key-file, REACH_API_KEY_FILE or REACH_API_KEY, or bind --host 127.0.0.1`,
    );
  }
}

/**
 * Starts MCP over stdio, or the HTTP daemon (Streamable HTTP /mcp, legacy SSE /sse + /messages,
 * /health), on top of the services the composition root built.
 */
export async function startTransports(
  services: ServerServices,
  config: ServerConfig,
  log: Logger,
): Promise<Transports> {
  // Imported here, not at the top: over HTTP the MCP layer loads at the first MCP request
  // (lazy-http-endpoints.ts says why); over stdio the MCP host is the first request.
  const mcpFactory = async () => {
    const { McpEndpointFactory } = await import('./mcp/mcp-server.ts');
    return new McpEndpointFactory({
      operations: services.operations,
      version: SERVER_VERSION,
      log: log.child({ component: 'mcp' }),
    });
  };
  const tools = services.operations.definitions.length;

  if (config.transport === 'stdio') {
    const { StdioEndpoint } = await import('./mcp/stdio-endpoint.ts');
    const stdio = new StdioEndpoint(await mcpFactory());
    let onEnded!: () => void;
    const ended = new Promise<void>((resolve) => {
      onEnded = resolve;
    });
    await stdio.start(onEnded);
    log.info({ tools }, 'mcp stdio ready');
    return {
      ended,
      close: async () => {
        await stdio.close();
      },
    };
  }

  const apiKeys = await apiKeysOf(config);
  if (apiKeys.length === 0) {
    log.warn('no API key set: HTTP is open to every local process (bound to loopback only)');
  }
  const startedAt = Date.now();
  const mcp = new LazyMcpHttpEndpoints(async () => {
    const { McpHttpEndpoints } = await import('./mcp/http-endpoints.ts');
    return new McpHttpEndpoints(await mcpFactory(), {
      maxSessions: config.mcpMaxSessions,
      maxSessionsPerKey: config.mcpMaxSessionsPerKey,
      idleTimeoutMs: config.mcpIdleTimeoutS * 1000,
      log: log.child({ component: 'mcp-http' }),
    });
  });
  let allowedHosts: string[] = [];
  const api = buildHttpApi({
    apiKeys,
    sessionTtlMs: config.sessionTtlH * 3_600_000,
    allowedHosts: () => allowedHosts,
    operations: services.operations,
    history: services.commandHistory,
    metrics: services.metricsHistory,
    webhooks: services.webhooks,
    transfers: services.transfers,
    maxBodyBytes: config.maxBodyBytes,
    version: SERVER_VERSION,
    extraRoutes: recordingRoutes(services.terminals.recordings),
  });
  const app = createHttpApp({
    api: api.app,
    apiKeys,
    maxBodyBytes: config.maxBodyBytes,
    allowedHosts: () => allowedHosts,
    mcp,
    releases: { store: services.releases, requireApiKey: config.releasesAuth === 'api-key' },
    ui: locateStaticUi(defaultUiDir(), log.child({ component: 'ui' })),
    log: log.child({ component: 'http' }),
    health: () => ({
      status: 'ok',
      version: SERVER_VERSION,
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
      clients: services.clients.counts(),
      webhooks: (({ pending, dead }) => ({ pending, dead }))(services.webhooks.stats()),
      mcp: mcp.stats(),
    }),
  });
  const ws = {
    authorize: api.authorizeUpgrade,
    routes: [...api.wsRoutes, terminalWsRoute(services.terminals, log.child({ component: 'terminal-ws' }))],
    // Browser → server frames are small (a terminal's keystrokes and resizes): 1 MiB is plenty.
    maxPayloadBytes: 1024 * 1024,
    log: log.child({ component: 'ws' }),
  };
  const http = await listenHttp(app, config.host, config.port, ws).catch((err: unknown) => {
    throw listenError(err, {
      what: 'HTTP',
      portFlag: '--port',
      hostFlag: '--host',
      host: config.host,
      port: config.port,
    });
  });
  allowedHosts = defaultAllowedHosts(config.host, http.port, config.allowedHosts);
  log.info({ host: config.host, port: http.port, tools }, 'http listening');
  let removeDaemonFile: () => Promise<void>;
  try {
    // How a later `--transport stdio` on this data dir finds this daemon and bridges to it.
    removeDaemonFile = await writeDaemonFile(config.dataDir, {
      pid: process.pid,
      mcpUrl: `http://${loopbackAddressOf(config.host)}:${http.port}/mcp`,
      sshPort: services.ssh.port,
      ...(apiKeys[0] === undefined ? {} : { apiKey: apiKeys[0] }),
      version: SERVER_VERSION,
    });
  } catch (err) {
    await mcp.close();
    await http.close();
    throw err;
  }
  return {
    httpPort: http.port,
    close: async () => {
      await removeDaemonFile().catch((err: unknown) => log.warn({ err }, 'could not remove the daemon file'));
      await mcp.close();
      await http.close();
      api.close();
    },
  };
}

/** The address a local process dials to reach a listener bound to `host` (a wildcard means loopback). */
function loopbackAddressOf(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
