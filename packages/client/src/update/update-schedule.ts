import type { Duplex } from 'node:stream';
import { CONTROL_METHODS, LIMITS, LINK, ReachError } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import type { Logger } from '../log/logger.ts';
import type { Updater } from './updater.ts';
import { compareVersions } from './version-order.ts';

export interface UpdateScheduleDeps {
  /** Between checks, in ms (`update_check_interval_h`); the first comes at a random point of it. */
  intervalMs: number;
  channel: 'stable' | 'beta';
  version: string;
  updater: Pick<Updater, 'apply'>;
  /** Opens a subsystem channel on the live link (Tunnel.openSubsystem). */
  openSubsystem: (name: string) => Promise<Duplex>;
  log: Logger;
  random?: () => number;
}

/**
 * Checks for an update on the client's own schedule, besides server-driven rollouts: every
 * interval (±10 %, so a fleet's checks spread out), asks the server over the live link which
 * signed release its channel points at (control `update_check`), and applies it through the same
 * Updater as update_apply — the same signature, SHA-256, downgrade and health-window checks. A
 * failed check is logged and tried again next time.
 */
export class UpdateSchedule {
  readonly #d: UpdateScheduleDeps;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: UpdateScheduleDeps) {
    this.#d = deps;
  }

  start(): void {
    this.#next((this.#d.random ?? Math.random)() * this.#d.intervalMs);
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  /** One check: true when an update was applied (the client restarts into it). */
  async check(): Promise<boolean> {
    const d = this.#d;
    const stream = await d.openSubsystem(LINK.controlSubsystem);
    const peer = peerOverStream(stream, {
      maxFrameBytes: LIMITS.maxFrameBytes,
      maxOutgoingFrameBytes: LIMITS.maxControlRequestBytes,
    });
    let offer: (typeof CONTROL_METHODS.update_check.result)['_output'];
    try {
      const raw = await peer.call('update_check', { channel: d.channel }, { timeoutMs: 15_000 });
      const parsed = CONTROL_METHODS.update_check.result.safeParse(raw);
      if (!parsed.success)
        throw new ReachError('INTERNAL_ERROR', 'server sent a malformed update_check result');
      offer = parsed.data;
    } finally {
      peer.close();
    }
    if (offer.version === null || compareVersions(offer.version, d.version) <= 0) return false;
    d.log.info(
      { from: d.version, to: offer.version, channel: d.channel },
      'update: newer release on my channel',
    );
    await d.updater.apply({
      version: offer.version,
      manifest: offer.manifest,
      signature: offer.signature,
      source: 'link',
      force: false,
    });
    return true;
  }

  #next(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      void this.check()
        .catch((err: unknown) => this.#d.log.warn({ err: (err as Error).message }, 'update check failed'))
        .finally(() => {
          const spread = 0.9 + 0.2 * (this.#d.random ?? Math.random)();
          this.#next(this.#d.intervalMs * spread);
        });
    }, delayMs);
    this.#timer.unref();
  }
}
