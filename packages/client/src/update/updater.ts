import { mkdir } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { type LastUpdate, ReachError, type UpdateApplyParams, type UpdateApplyResult } from '@reach/protocol';
import type { Logger } from '../log/logger.ts';
import { type ArtifactSource, downloadArtifact, httpSource } from './download-artifact.ts';
import { linkSource } from './link-source.ts';
import { stageExecutable, swapExecutable } from './swap-executable.ts';
import { readUpdateState, type UpdateState, writeUpdateState } from './update-state.ts';
import { superviseRestart } from './update-supervisor.ts';
import { checkArtifactFile, manifestPlatform, verifyRelease } from './verify-release.ts';

export interface UpdaterDeps {
  /** `<config dir>/update`: update.json, downloads, the new version's log. */
  dir: string;
  /** The executable an update replaces (self-executable.ts); undefined: this client cannot update itself. */
  exe: string | undefined;
  /** This process's arguments (without node and script), for the restarted one. */
  args: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  version: string;
  /** config.yaml's update_public_key ('' refuses every update). */
  publicKey: string;
  /** config.yaml's auto_update. */
  autoUpdate: boolean;
  /** How long the new version has to register, in ms (config update_health_window_s). */
  healthWindowMs: number;
  systemd: boolean;
  log: Logger;
  /** Closes the tunnel: the agent's run then ends and `afterRun` supervises the restart. */
  stopAgent: () => void;
  now?: () => Date;
  platform?: NodeJS.Platform;
  arch?: string;
  fetch?: typeof fetch;
  /** Opens a `reach-release` channel on the live link (source `link`); absent: only `url` works. */
  openReleaseChannel?: (signal: AbortSignal | undefined) => Promise<Duplex>;
}

/**
 * One client's self-update. `apply` (update_apply) verifies everything before it touches the
 * executable, swaps, and stops the agent; `afterRun` then supervises the new version
 * (update-supervisor.ts). A new process that finds update.json `applied` for its own version marks
 * it `healthy` once the server has registered it (`registered`, after hello and set_policy).
 */
export class Updater {
  readonly #deps: UpdaterDeps;
  #state: UpdateState | undefined;
  #pending: UpdateState | undefined;
  #busy = false;

  constructor(deps: UpdaterDeps) {
    this.#deps = deps;
  }

  async start(): Promise<void> {
    await mkdir(this.#deps.dir, { recursive: true, mode: 0o700 });
    this.#state = await readUpdateState(this.#deps.dir);
  }

  /** What hello reports. */
  get lastUpdate(): LastUpdate | undefined {
    return this.#state;
  }

  get autoUpdate(): boolean {
    return this.#deps.autoUpdate;
  }

  /** The server has registered this process: a just-applied update to this version is healthy. */
  async registered(): Promise<void> {
    const s = this.#state;
    if (s?.state !== 'applied' || s.to !== this.#deps.version) return;
    this.#state = { ...s, state: 'healthy' };
    await writeUpdateState(this.#deps.dir, this.#state);
    this.#deps.log.info({ from: s.from, to: s.to }, 'update: registered on the new version; healthy');
  }

  /** `trigger`: `server` for update_apply, `schedule` for the client's own check (UpdateSchedule). */
  async apply(
    params: UpdateApplyParams,
    signal?: AbortSignal,
    trigger: NonNullable<LastUpdate['trigger']> = 'server',
  ): Promise<UpdateApplyResult> {
    const d = this.#deps;
    if (!d.autoUpdate) {
      throw new ReachError('UPDATE_REFUSED', 'this client has auto_update: false', {
        details: { reason: 'auto_update_off' },
      });
    }
    if (d.exe === undefined) {
      throw new ReachError(
        'UPDATE_REFUSED',
        'this client is not a single executable or launcher: it cannot replace itself',
        {
          details: { reason: 'not_self_updatable' },
        },
      );
    }
    if (this.#busy || this.#pending) {
      throw new ReachError('UPDATE_REFUSED', 'an update is already under way on this client', {
        details: { reason: 'busy' },
      });
    }
    this.#busy = true;
    try {
      const { platform, arch } = manifestPlatform(d.platform ?? process.platform, d.arch ?? process.arch);
      const { artifact } = verifyRelease({
        manifestBytes: Buffer.from(params.manifest, 'base64'),
        signature: params.signature,
        publicKey: d.publicKey,
        version: params.version,
        currentVersion: d.version,
        force: params.force,
        platform,
        arch,
      });
      const file = await downloadArtifact(this.#source(params, artifact.name), artifact, {
        dir: d.dir,
        signal,
      });
      // Checked again after the download step: a file already there from an earlier try is the
      // one installed, and it must still be the signed one.
      await checkArtifactFile(file, artifact);
      signal?.throwIfAborted();
      await stageExecutable(d.exe, file);
      await swapExecutable(d.exe, d.platform);
      const state: UpdateState = {
        from: d.version,
        to: params.version,
        started_at: (d.now?.() ?? new Date()).toISOString(),
        state: 'applied',
        trigger,
      };
      await writeUpdateState(d.dir, state);
      this.#state = state;
      this.#pending = state;
      d.log.info({ from: d.version, to: params.version, exe: d.exe }, 'update: swapped; restarting');
      // After the reply has left: 200 ms is ample for one small frame on an open channel.
      setTimeout(() => d.stopAgent(), 200).unref();
      return { accepted: true, state: 'applied', from: d.version, to: params.version };
    } finally {
      this.#busy = false;
    }
  }

  /** Where the executable comes from: the link (default) or the URL the operator serves it at. */
  #source(params: UpdateApplyParams, name: string): ArtifactSource {
    const d = this.#deps;
    if (params.source === 'url') {
      if (params.url === undefined) {
        throw new ReachError('INVALID_ARGUMENT', 'update_apply with source url needs url');
      }
      return httpSource(new URL(name, params.url).href, d.fetch);
    }
    if (d.openReleaseChannel === undefined) {
      throw new ReachError('UPDATE_REFUSED', 'this client cannot fetch releases over its link', {
        details: { reason: 'no_link_source' },
      });
    }
    return linkSource(d.openReleaseChannel, params.version, name);
  }

  /**
   * Called when the agent's run has ended: with an applied update, supervises the new version and
   * resolves with the exit code (update-supervisor.ts); undefined when there was no update.
   */
  async afterRun(): Promise<number | undefined> {
    const d = this.#deps;
    if (!this.#pending || d.exe === undefined) return undefined;
    return superviseRestart({
      dir: d.dir,
      exe: d.exe,
      args: d.args,
      env: d.env,
      state: this.#pending,
      healthWindowMs: d.healthWindowMs,
      systemd: d.systemd,
      log: d.log,
      platform: d.platform,
    });
  }
}
