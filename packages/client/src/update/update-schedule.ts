import type { Duplex } from 'node:stream';
import { CONTROL_METHODS, type LastUpdate, LIMITS, LINK, ReachError } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import type { Logger } from '../log/logger.ts';
import type { Updater } from './updater.ts';
import { compareVersions } from './version-order.ts';

export interface UpdateScheduleDeps {
  /** Between checks, in ms (`update_check_interval_h`); the first comes at a random point of it. */
  intervalMs: number;
  channel: 'stable' | 'beta';
  version: string;
  /** `lastUpdate`: a release that rolled back here is not tried again by the schedule. */
  updater: Pick<Updater, 'apply' | 'lastUpdate'>;
  /** Opens a subsystem channel on the live link (Tunnel.openSubsystem). */
  openSubsystem: (name: string) => Promise<Duplex>;
  log: Logger;
  random?: () => number;
}

/**
 * Whether the schedule applies `offered` over `current`: only a newer release, and not one that
 * already rolled back on this client (update.json `rolled_back` to that version): a release that
 * cannot start here would otherwise be downloaded, swapped in and rolled back at every check. A
 * newer release, or an operator's update_clients, is tried as usual.
 */
export function scheduledUpdateWanted(
  offered: string | null,
  current: string,
  last: LastUpdate | undefined,
): true | 'not_newer' | 'rolled_back_here' {
  if (offered === null || compareVersions(offered, current) <= 0) return 'not_newer';
  if (last?.state === 'rolled_back' && last.to === offered) return 'rolled_back_here';
  return true;
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
    const wanted = scheduledUpdateWanted(offer.version, d.version, d.updater.lastUpdate);
    if (offer.version === null || wanted !== true) {
      if (wanted === 'rolled_back_here') {
        d.log.info(
          { version: offer.version },
          'update: my channel still offers a release that rolled back here; skipped',
        );
      }
      return false;
    }
    d.log.info(
      { from: d.version, to: offer.version, channel: d.channel },
      'update: newer release on my channel',
    );
    await d.updater.apply(
      {
        version: offer.version,
        manifest: offer.manifest,
        signature: offer.signature,
        source: 'link',
        force: false,
      },
      undefined,
      'schedule',
    );
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
