import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { backlogRetryMs, reconnectWindowMs } from '@reach/protocol';
import { bulkHeapPolicy, LitterSweeper, OperationJournal } from '@reach/protocol/node';
import { AuditLog } from './audit/audit-log.ts';
import { ClientService } from './clients/client-service.ts';
import { registerLink } from './clients/registration.ts';
import { listenError } from './config/listen-error.ts';
import type { ServerConfig } from './config/server-config.ts';
import { ControlServer } from './control/control-server.ts';
import { AuditStore } from './db/audit-store.ts';
import { ClientStore } from './db/client-store.ts';
import { CommandHistoryStore } from './db/command-history-store.ts';
import { type Database, openDatabase } from './db/database.ts';
import { MetricsHistoryStore } from './db/metrics-history-store.ts';
import { MIGRATIONS } from './db/migrations/index.ts';
import { RolloutStore } from './db/rollout-store.ts';
import { WebhookOutboxStore } from './db/webhook-outbox-store.ts';
import { everyPage } from './jobs/fanout-select.ts';
import { createLogger, type Logger } from './log/logger.ts';
import { allTools } from './mcp/tools/index.ts';
import { MetricsSampler } from './metrics/metrics-sampler.ts';
import { buildOperations } from './operations/build-operations.ts';
import type { Operations } from './operations/operations.ts';
import { ClaimLimiter } from './registry/claim-limiter.ts';
import { ClientRegistry } from './registry/client-registry.ts';
import { readChannels } from './releases/release-channels.ts';
import { readPins } from './releases/release-pins.ts';
import { ReleaseStore } from './releases/release-store.ts';
import { serveReleaseStream } from './releases/release-stream.ts';
import { releasesDir } from './releases/releases-dir.ts';
import { RolloutService } from './rollout/rollout-service.ts';
import { reportScheduledUpdates } from './rollout/scheduled-update-events.ts';
import { parseMaxStartups } from './ssh/admission.ts';
import { AUTHORIZED_KEYS_FILE, AuthorizedKeys } from './ssh/authorized-keys.ts';
import { loadOrCreateHostKey } from './ssh/host-key.ts';
import { SshServer } from './ssh/ssh-server.ts';
import { buildExchange, type Exchange } from './storage/build-exchange.ts';
import { TerminalService } from './terminal/terminal-service.ts';
import { TransferRoots } from './transfer/transfer-roots.ts';
import { TransferService } from './transfer/transfer-service.ts';
import { checkTransportConfig, startTransports, type Transports } from './transports.ts';
import { SERVER_VERSION } from './version.ts';
import { forwardClientEvents } from './webhooks/client-event-forwarder.ts';
import { parseWebhookConfig } from './webhooks/webhook-config.ts';
import { WebhookDispatcher } from './webhooks/webhook-dispatcher.ts';

export const DB_FILE = 'reach.db';

/** Every service the transports (MCP, HTTP) and benchmarks use. */
export interface ServerServices {
  config: ServerConfig;
  log: Logger;
  db: Database;
  store: ClientStore;
  registry: ClientRegistry;
  clients: ClientService;
  control: ControlServer;
  ssh: SshServer;
  /** Durable webhook outbox and its sender. */
  webhooks: WebhookDispatcher;
  /** Who did what to which client, kept `auditRetentionDays`. */
  audit: AuditLog;
  /** upload_file / download_file: streams between the transfer roots and clients. */
  transfers: TransferService;
  /** Transfers by operation id, as this server saw them; downloads are decided here. */
  journal: OperationJournal;
  /** What callers may do to clients: the one layer MCP tools and HTTP routes call. */
  operations: Operations;
  /** Client executables and archives served over HTTP (`reach-server release install`). */
  releases: ReleaseStore;
  /** exchange_* and r2_*: files through the S3-compatible bucket, and its key rotation. */
  exchange: Exchange;
  /** update_clients / update_status: staged, signed client updates (in memory). */
  rollouts: RolloutService;
  /** Every command run on a client, searchable (GET /api/history). */
  commandHistory: CommandHistoryStore;
  /** Sampled client metrics (GET /api/clients/:uuid/metrics/history). */
  metricsHistory: MetricsHistoryStore;
  /** Browser terminals: PTY shells on clients over the SSH link, recorded as asciicast. */
  terminals: TerminalService;
  /** `SHA256:…` of the server's host key. */
  hostKeyFingerprint: string;
}

export interface StartServerDeps {
  log?: Logger;
  /** Replaces the transports (default: ./transports.ts); tests pass a no-op. */
  startTransports?: typeof startTransports;
}

export interface RunningServer {
  services: ServerServices;
  /** The bound SSH port (useful with `sshPort: 0`). */
  sshPort: number;
  hostKeyFingerprint: string;
  /** Bound HTTP port, with transport http. */
  httpPort?: number;
  /** Resolves when the transport ends by itself (stdio: the MCP host closed stdin). */
  ended: Promise<void>;
  /** Stops everything in reverse order of start. Idempotent. */
  close(): Promise<void>;
}

/**
 * The composition root: builds every service in order (data dir, host key, store, registry,
 * client service, SSH server, transports) and returns a handle that closes them in reverse.
 */
export async function startServer(config: ServerConfig, deps: StartServerDeps = {}): Promise<RunningServer> {
  const log = deps.log ?? createLogger(config.logLevel);
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        log.error({ err }, 'error during shutdown');
      }
    }
  };
  // Flags first: a configuration that cannot serve fails before anything listens or is written.
  await checkTransportConfig(config);
  try {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const hostKey = await loadOrCreateHostKey(config.dataDir);
    const db = openDatabase(join(config.dataDir, DB_FILE), MIGRATIONS);
    closers.push(() => db.close());
    const store = new ClientStore(db);
    const registry = new ClientRegistry();
    closers.push(() => registry.closeAll());
    const clients = new ClientService({ store, registry, log: log.child({ component: 'clients' }) });
    // Before the registry closes the links: stamps last_seen of every online client in one batch.
    closers.push(() => clients.close());
    const webhooks = new WebhookDispatcher({
      store: new WebhookOutboxStore(db),
      config: parseWebhookConfig({
        url: config.webhookUrl,
        secret: config.webhookSecret,
        timeoutS: config.webhookTimeoutS,
        maxRetries: config.webhookMaxRetries,
      }),
      clientWebhookUrl: (uuid) => store.get(uuid)?.webhook_url,
      log: log.child({ component: 'webhooks' }),
    });
    webhooks.start();
    closers.push(() => webhooks.close());
    const auditLog = log.child({ component: 'audit' });
    const audit = new AuditLog({
      store: new AuditStore(db),
      retentionDays: config.auditRetentionDays,
      onError: (err) => auditLog.error({ err }, 'audit write failed'),
    });
    audit.start();
    closers.push(() => audit.close());
    const releases = new ReleaseStore(releasesDir(config));
    const releaseLog = log.child({ component: 'releases' });
    const control = new ControlServer({
      clients,
      store,
      log: log.child({ component: 'control' }),
      // A client checking on its own schedule gets its channel's signed release (or none).
      updateOffer: async (channel) => {
        const version = (await readChannels(releasesDir(config)))[channel];
        if (version === undefined) return { version: null };
        const f = await releases.manifestFile(version);
        if (f.signature === undefined) return { version: null };
        return { version, manifest: f.bytes.toString('base64'), signature: f.signature };
      },
    });
    const authorizedKeys = new AuthorizedKeys(
      join(config.dataDir, AUTHORIZED_KEYS_FILE),
      log.child({ component: 'authorized_keys' }),
    );
    const registrationLog = log.child({ component: 'registration' });
    // Identity claims that write state: 5 at once, then 2 a minute, per UUID and per key. A real
    // client claims once per (re)connect; its backoff keeps it well below that.
    const claims = new ClaimLimiter({ burst: 5, perMinute: 2 });
    // The fleet's reconnect window (retry-hint.ts), from the client count read at most every 5 s:
    // a flood of refused sockets must not become a flood of COUNT(*) queries.
    let countAt = 0;
    let known = 0;
    const knownClients = (): number => {
      const now = Date.now();
      if (now - countAt > 5_000) {
        countAt = now;
        known = store.count();
      }
      return known;
    };
    const fleetWindow = (): number => reconnectWindowMs(knownClients());
    const ssh = new SshServer({
      host: config.sshHost,
      port: config.sshPort,
      hostKey: hostKey.privateKey,
      authorizedKeys,
      log: log.child({ component: 'ssh' }),
      admission: {
        // Half the cap before early drops start, at 30% (OpenSSH's default rate).
        ...(parseMaxStartups(config.maxStartups ?? '') ?? {
          start: Math.max(1, Math.floor(config.maxUnauthenticated / 2)),
          rate: 30,
          full: config.maxUnauthenticated,
        }),
        perSource: config.maxUnauthenticatedPerSource,
      },
      bannerTimeoutMs: config.bannerTimeoutS * 1000,
      authTimeoutMs: config.authTimeoutS * 1000,
      // Turned away in a storm: come back once the clients not online yet should be in.
      retryAfterMs: () => backlogRetryMs(knownClients(), registry.size),
      onLink: (link) => {
        void registerLink(link, {
          store,
          registry,
          log: registrationLog,
          serverVersion: SERVER_VERSION,
          reconnectWindowMs: fleetWindow,
          onUnhealthy: (uuid, failures) => clients.reportUnhealthy(uuid, failures),
          heartbeat: {
            graceMs: config.heartbeatGraceS * 1000,
            intervalMs: config.heartbeatIntervalS * 1000,
            timeoutMs: config.heartbeatTimeoutS * 1000,
            maxFailures: config.heartbeatMaxFailures,
          },
          registrationTimeoutMs: config.authTimeoutS * 1000,
          claims,
          onKeyMismatch: (record, l) => clients.reportKeyMismatch(record, l.fingerprint),
        });
      },
      onControl: (link, stream) => control.serve(link, stream),
      // Self-update over the link: any authenticated client may fetch a published artifact.
      onRelease: (_link, stream) => void serveReleaseStream(releases, stream, releaseLog),
    });
    const roots = new TransferRoots([join(config.dataDir, 'transfers'), ...config.transferRoots]);
    const transfers = new TransferService({
      roots,
      openStream: (uuid) => clients.onlineClient(uuid).link.openStreamChannel(),
      log: log.child({ component: 'transfers' }),
      heap: bulkHeapPolicy(),
      litter: new LitterSweeper({
        journalFile: join(config.dataDir, 'written-dirs.json'),
        policy: {
          resumableTtlMs: config.partialTtlHours * 3_600_000,
          maxResumableBytes: config.partialMaxMib * 1024 * 1024,
        },
      }),
    });
    await transfers.start();
    const operations = new OperationJournal({ file: join(config.dataDir, 'operations.jsonl') });
    await operations.start();
    closers.push(() => operations.close());
    const exchange = await buildExchange(config, { db, roots, clients, webhooks, audit, log });
    closers.push(() => exchange.close());
    const rollouts = new RolloutService({
      releases,
      channels: () => readChannels(releasesDir(config)),
      pins: () => readPins(releasesDir(config)),
      store: new RolloutStore(db),
      clients,
      listClients: () => everyPage(clients, {}),
      registry,
      webhooks,
      releaseUrl: config.releaseUrl,
      log: log.child({ component: 'rollout' }),
    });
    rollouts.restore();
    closers.push(() => rollouts.close());
    // Updates clients start on their own schedule, which no rollout watches, to the webhooks.
    closers.push(
      reportScheduledUpdates({ registry, store, webhooks, log: log.child({ component: 'rollout' }) }),
    );
    const historyLog = log.child({ component: 'command-history' });
    const commandHistory = new CommandHistoryStore(db, (err) =>
      historyLog.error({ err }, 'history write failed'),
    );
    closers.push(() => commandHistory.close());
    const pruneHistory = (): void => {
      try {
        commandHistory.prune(Date.now() - config.commandHistoryRetentionDays * 86_400_000);
      } catch (err) {
        historyLog.error({ err }, 'history prune failed');
      }
    };
    pruneHistory();
    const historyPrune = setInterval(pruneHistory, 3_600_000);
    historyPrune.unref();
    closers.push(() => clearInterval(historyPrune));
    const metricsHistory = new MetricsHistoryStore(db);
    // What callers may do to clients (MCP and HTTP alike), before any client can connect.
    const ops = buildOperations({
      definitions: allTools,
      clients,
      store,
      audit,
      webhooks,
      transfers,
      journal: operations,
      exchange,
      rollouts,
      history: commandHistory,
      rateLimit: {
        mode: config.rateLimitMode,
        rpm: config.rateLimitRpm,
        concurrent: config.rateLimitConcurrent,
      },
      maxResultBytes: config.maxResultBytes,
      log,
    });
    closers.push(() => ops.close());
    const terminals = new TerminalService({
      openStream: (uuid) => clients.onlineClient(uuid).link.openStreamChannel({ interactive: true }),
      capabilities: (uuid) => clients.onlineClient(uuid).registration.capabilities,
      recordingsDir: join(config.dataDir, 'recordings'),
      maxPerClient: config.terminalMaxPerClient,
      idleTimeoutMs: config.terminalIdleTimeoutS * 1000,
      recordingRetentionDays: config.recordingRetentionDays,
      recordingMaxBytes: config.recordingMaxMib * 1024 * 1024,
      record: (r) => ops.operations.record(r),
      log: log.child({ component: 'terminal' }),
    });
    closers.push(() => terminals.close());
    // Client lifecycle to the webhooks and the live view.
    closers.push(forwardClientEvents(clients, ops.activity));
    const sampler = new MetricsSampler({
      clients,
      store: metricsHistory,
      events: ops.events,
      intervalS: config.metricsIntervalS,
      retentionDays: config.metricsRetentionDays,
      log: log.child({ component: 'metrics-sampler' }),
    });
    sampler.start();
    closers.push(() => sampler.close());
    const sshPort = await ssh.listen().catch((err: unknown) => {
      throw listenError(err, {
        what: 'SSH',
        portFlag: '--ssh-port',
        hostFlag: '--ssh-host',
        host: config.sshHost,
        port: config.sshPort,
      });
    });
    closers.push(() => ssh.close());
    log.info(
      { port: sshPort, host: config.sshHost, hostKeyFingerprint: hostKey.fingerprint },
      'ssh listening',
    );

    const services: ServerServices = {
      config,
      log,
      db,
      store,
      registry,
      clients,
      control,
      ssh,
      webhooks,
      audit,
      transfers,
      journal: operations,
      operations: ops.operations,
      releases,
      exchange,
      rollouts,
      commandHistory,
      metricsHistory,
      terminals,
      hostKeyFingerprint: hostKey.fingerprint,
    };
    // LEAD: MCP and HTTP start here (./transports.ts).
    const transports: Transports = await (deps.startTransports ?? startTransports)(services, config, log);
    closers.push(() => transports.close());

    let closing: Promise<void> | undefined;
    return {
      services,
      sshPort,
      hostKeyFingerprint: hostKey.fingerprint,
      ...(transports.httpPort === undefined ? {} : { httpPort: transports.httpPort }),
      ended: transports.ended ?? new Promise<void>(() => {}),
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
