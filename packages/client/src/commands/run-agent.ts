import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LINK, ReachError } from '@reach/protocol';
import { bulkHeapPolicy, LitterSweeper, OperationJournal } from '@reach/protocol/node';
import { systemInfo } from '../agent/handlers/hello.ts';
import { createAgentHandlers } from '../agent/handlers/index.ts';
import { openConfirmedDir } from '../agent/open-confirmed.ts';
import { PathPolicy } from '../agent/path-policy.ts';
import { readAllowedFile } from '../agent/read-allowed-file.ts';
import { detectCapabilities } from '../capabilities/detect.ts';
import { loadConfig } from '../config/load-config.ts';
import { JobManager } from '../jobs/job-manager.ts';
import { createLogger } from '../log/logger.ts';
import { OutputStore } from '../output-store/output-store.ts';
import { POSIX_PLATFORM } from '../platform/platform.ts';
import { CommandGroups } from '../spawner/command-groups.ts';
import { GroupLedger } from '../spawner/group-ledger.ts';
import { GroupWatchdog } from '../spawner/group-watchdog.ts';
import { poolableShell, ShellPool } from '../spawner/shell-pool.ts';
import { createSshSessionHandlers } from '../ssh-sessions/handlers.ts';
import { loadPty } from '../terminal/load-pty.ts';
import { PtyHost } from '../terminal/pty-host.ts';
import { createStreamDispatcher } from '../terminal/stream-dispatch.ts';
import { createTransferStreamHandler } from '../transfer/transfer-stream-handler.ts';
import { ReconnectHints } from '../tunnel/reconnect-hints.ts';
import { Tunnel } from '../tunnel/tunnel.ts';
import { effectiveVersion, selfExecutable, underSystemd } from '../update/self-executable.ts';
import { UpdateSchedule } from '../update/update-schedule.ts';
import { Updater } from '../update/updater.ts';
import { VERSION } from '../version.ts';
import type { Command } from './command.ts';
import { authorizeHint, linkTarget } from './link-credentials.ts';

/**
 * The default action: build the agent (path policy, handlers, capabilities) and keep the tunnel to
 * the server up until the signal aborts. Services are closed in reverse order of creation.
 */
export const runAgentCommand: Command = {
  flag: '',
  run: async ({ io, sources, argv }) => {
    const loaded = await loadConfig(sources);
    const target = await linkTarget(loaded);
    const { config } = loaded;
    const log = createLogger(config.log_level).child({ uuid: config.uuid });
    const system = systemInfo();
    const platform = io.platform ?? POSIX_PLATFORM;
    const policy = new PathPolicy(config.allowed_paths, platform.paths);
    // `terminal` only where the PTY addon loads (not in the single executables, scripts/build)
    // and the machine's owner has not turned terminals off (`terminal: false`).
    const ptyIfAllowed = async () => (config.terminal && platform.name !== 'win32' ? loadPty() : undefined);
    const detect = async () => {
      const [found, pty] = await Promise.all([
        detectCapabilities({ pathEnv: io.env.PATH ?? io.env.Path ?? '', platform }),
        ptyIfAllowed(),
      ]);
      return pty ? [...found, 'terminal'].sort() : found;
    };
    const capabilities = await detect();
    log.info({ capabilities, server: `${target.host}:${target.port}` }, 'starting agent');
    // Whole outputs of commands cut to the result cap, in the config directory (state of this client).
    const outputs = new OutputStore({ dir: join(loaded.dir, 'outputs') });
    await outputs.start();
    // Before any command runs: kill what a previous run left, then hold new groups in the watchdog.
    // Windows has no process groups or /bin/sh for the watchdog: a command there is killed on its
    // timeout (taskkill /T), not when the client dies (README, "Windows client").
    const groups =
      platform.name === 'win32'
        ? undefined
        : new CommandGroups({
            watchdog: new GroupWatchdog({ log }),
            ledger: new GroupLedger({ dir: join(loaded.dir, 'run', 'command-groups'), log }),
            log,
          });
    await groups?.start();
    // run_command starts through shells spawned ahead of need (spawner/shell-pool.ts) where /bin/sh
    // is one the pool is known to keep a plain spawn's environment under; REACH_SHELL_POOL=0: off.
    const pool =
      platform.name !== 'win32' && io.env.REACH_SHELL_POOL !== '0' && poolableShell('/bin/sh')
        ? new ShellPool({ env: io.env, log: log.child({ component: 'shell-pool' }) })
        : undefined;
    pool?.start();
    // Commands that outlive their call, link and this process (run_command past its `wait`): Linux
    // only, as they are found again after a restart through /proc (pgid and start time).
    const jobs =
      platform.procRoot !== null && existsSync('/proc/self/stat')
        ? new JobManager({ dir: join(loaded.dir, 'jobs'), pool })
        : undefined;
    await jobs?.start();
    // Before any write: sweep the temp files a previous run left in the directories it wrote into.
    const litter = new LitterSweeper({
      journalFile: join(loaded.dir, 'run', 'written-dirs.json'),
      writeTemps: true,
      policy: {
        resumableTtlMs: config.partial_ttl_hours * 3_600_000,
        maxResumableBytes: config.partial_max_mib * 1024 * 1024,
      },
    });
    const swept = await litter.start();
    if (swept.removed.length + swept.overCap.length > 0) log.info(swept, 'removed stray temp files');

    // Completed mutations by operation id, so a retry replays and operation_status answers after a
    // restart (bounded: 10,000 records or 8 MiB of log, whichever comes first).
    const operations = new OperationJournal({ file: join(loaded.dir, 'run', 'operations.jsonl') });
    await operations.start();

    const hints = new ReconnectHints();

    const version = effectiveVersion(io.env, VERSION);
    // Self-update (#16): verified against config's update_public_key only; `tunnel` is made below
    // and closed by an applied update, whose restart runs once everything here is closed.
    let tunnel: Tunnel | undefined;
    const updater = new Updater({
      dir: join(loaded.dir, 'update'),
      exe: selfExecutable(io.env, process.argv, process.execPath),
      args: argv ?? [],
      env: io.env,
      version,
      publicKey: config.update_public_key,
      autoUpdate: config.auto_update,
      healthWindowMs: config.update_health_window_s * 1000,
      systemd: underSystemd(io.env),
      log,
      stopAgent: () => {
        tunnel?.close().catch((err: unknown) => log.error({ err }, 'closing the tunnel failed'));
      },
      openReleaseChannel: (signal) =>
        tunnel === undefined
          ? Promise.reject(new ReachError('CONNECTION_ERROR', 'no link to the server is up'))
          : tunnel.openSubsystem(LINK.releaseSubsystem, signal),
    });
    await updater.start();

    const core = createAgentHandlers({
      identity: {
        uuid: config.uuid,
        client_id: (config.client_id || system.hostname || config.uuid).slice(0, 128),
        display_name: (config.display_name || system.hostname).slice(0, 100),
        purpose: config.purpose,
        tags: config.tags,
      },
      version,
      policy,
      log,
      baseEnv: io.env,
      defaultCwd: io.homedir ?? homedir(),
      outputs,
      capabilities,
      detectCapabilities: detect,
      system,
      groups,
      pool,
      litter,
      operations,
      platform,
      jobs,
      updater,
      hints,
    });
    const sshSessions = createSshSessionHandlers({
      configDir: loaded.dir,
      log,
      readAllowedFile: (p, maxBytes) => readAllowedFile(policy, p, maxBytes),
    });
    const handlers = new Map([...core, ...sshSessions.handlers]);
    const terminals = new PtyHost({
      spawn: ptyIfAllowed,
      shell: io.env.SHELL || '/bin/sh',
      cwd: io.homedir ?? homedir(),
      env: Object.fromEntries(
        Object.entries(io.env).filter((e): e is [string, string] => typeof e[1] === 'string'),
      ),
      log: log.child({ component: 'terminal' }),
    });
    // A SIGKILLed client cannot run this; its PTYs' masters close and the kernel hangs up on them.
    const killTerminals = (): void => terminals.close();
    process.once('exit', killTerminals);
    tunnel = new Tunnel({
      ...target,
      onPinned: (text) => io.stderr(`reach: ${text}\n`),
      // Once per streak of refusals, not per retry: the fix is on the server, the retries go on.
      onAuthRefused: () =>
        io.stderr(
          `reach: ${authorizeHint(target)}\nreach: retrying with backoff until the key is authorized\n`,
        ),
      handlers,
      reconnectDelayS: config.reconnect_delay,
      hints,
      maxReconnectDelayS: config.max_reconnect_delay,
      log,
      // The heap policy (bulk-heap-policy.ts) matters most on the receiving end: one probe of three
      // 1 GiB uploads into this client did 248/491/493 MiB/s with it, 250/355/439 without.
      streamHandler: createStreamDispatcher({
        transfer: createTransferStreamHandler({
          checkPath: (p) => policy.check(p),
          confirm: (fh, p) => policy.confirmOpen(fh, p),
          openDir: (dir) => openConfirmedDir(policy, dir),
          log,
          heap: bulkHeapPolicy(),
          litter,
          operations,
        }),
        terminal: (channel, open) => terminals.serve(channel, open),
      }),
    });
    // Checks of its own, when configured, besides the server's rollouts.
    const schedule =
      config.update_check_interval_h > 0 && config.auto_update && config.update_public_key !== ''
        ? new UpdateSchedule({
            intervalMs: config.update_check_interval_h * 3_600_000,
            channel: config.update_channel,
            version,
            updater,
            openSubsystem: (name) =>
              tunnel === undefined
                ? Promise.reject(new ReachError('CONNECTION_ERROR', 'no link to the server is up'))
                : tunnel.openSubsystem(name),
            log,
          })
        : undefined;
    schedule?.start();
    const stop = () => {
      log.info('shutting down');
      tunnel?.close().catch((err: unknown) => log.error({ err }, 'closing the tunnel failed'));
    };
    io.signal?.addEventListener('abort', stop, { once: true });
    try {
      if (io.signal?.aborted) return 0;
      await tunnel.start();
    } catch (err) {
      if (err instanceof ReachError && err.code === 'SSH_HOST_KEY_MISMATCH') {
        io.stderr(`reach: ${err.message}\n`);
        return 3;
      }
      throw err;
    } finally {
      io.signal?.removeEventListener('abort', stop);
      schedule?.close();
      await tunnel.close();
      terminals.close();
      process.off('exit', killTerminals);
      await sshSessions.close();
      groups?.close();
      pool?.close();
      jobs?.close();
      await litter.close();
      await operations.close();
      outputs.close();
    }
    // With an applied update: start the new version and watch it (update-supervisor.ts).
    return (await updater.afterRun()) ?? 0;
  },
};
