import type { Duplex } from 'node:stream';
import { CONTROL_METHODS, LIMITS, ReachError, type RpcHandler } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import type { z } from 'zod';
import type { ClientService } from '../clients/client-service.ts';
import type { ClientStore } from '../db/client-store.ts';
import type { Logger } from '../log/logger.ts';
import type { SshLink } from '../ssh/ssh-server.ts';

type ListClientsResult = z.infer<typeof CONTROL_METHODS.list_clients.result>;
type ListClientsParams = z.infer<typeof CONTROL_METHODS.list_clients.params>;
type UpdateCheckResult = z.infer<typeof CONTROL_METHODS.update_check.result>;

/**
 * Clients per control page by default: ~200 bytes each, so 1,000 make a ~200 KB frame (the limit
 * is 16 MiB) and a fleet of 10,000 comes in ten calls on one connection.
 */
const CONTROL_PAGE = 1000;

/**
 * Serves control methods (client → server) on the `reach-control` subsystem. The SSH key is the
 * credential: any authorized key may call, except one waiting for accept_key (SSH_KEY_MISMATCH).
 */
export class ControlServer {
  readonly #clients: ClientService;
  readonly #store: ClientStore;
  readonly #log: Logger;

  readonly #offer: ((channel: 'stable' | 'beta') => Promise<UpdateCheckResult>) | undefined;

  constructor(deps: {
    clients: ClientService;
    store: ClientStore;
    log: Logger;
    /** The signed release a channel points at (update_check); absent: always `version: null`. */
    updateOffer?: (channel: 'stable' | 'beta') => Promise<UpdateCheckResult>;
  }) {
    this.#offer = deps.updateOffer;
    this.#clients = deps.clients;
    this.#store = deps.store;
    this.#log = deps.log;
  }

  /** Serves one control stream until it closes. */
  serve(link: SshLink, stream: Duplex): void {
    const log = this.#log.child({ link: link.id });
    const guard = (): void => {
      if (this.#store.findByPendingFingerprint(link.fingerprint).length > 0) {
        throw new ReachError('SSH_KEY_MISMATCH', 'this key is waiting for an operator to accept it', {
          recoveryHint: 'Ask the operator to run accept_key for this client.',
        });
      }
    };
    const handlers = new Map<string, RpcHandler>([
      [
        'list_clients',
        async (params) => {
          guard();
          const checked = CONTROL_METHODS.list_clients.params.safeParse(params);
          if (!checked.success) {
            throw new ReachError(
              'INVALID_ARGUMENT',
              'list_clients takes limit (1-1000), cursor, online_only',
            );
          }
          return this.listClients(checked.data);
        },
      ],
      [
        'update_check',
        async (params) => {
          guard();
          const checked = CONTROL_METHODS.update_check.params.safeParse(params ?? {});
          if (!checked.success)
            throw new ReachError('INVALID_ARGUMENT', 'update_check takes channel stable|beta');
          return this.#offer ? this.#offer(checked.data.channel) : { version: null };
        },
      ],
    ]);
    peerOverStream(stream, {
      handlers,
      // Requests are a few hundred bytes (LIMITS.maxControlRequestBytes says why 4 KiB): a longer
      // length prefix is refused before its body is read. Replies (list_clients of thousands of
      // clients) need the full frame size.
      maxFrameBytes: LIMITS.maxControlRequestBytes,
      maxOutgoingFrameBytes: LIMITS.maxFrameBytes,
      maxConcurrentIncoming: 8,
      onProtocolError: (err) => log.info({ code: err.code, msg: err.message }, 'control protocol error'),
    });
  }

  /**
   * One page (CONTROL_PAGE clients unless the caller asks fewer); `reach --list-clients` follows
   * next_cursor. A client from before paging asks once and shows the first page, with the counts
   * line saying how many there are.
   */
  listClients(params: ListClientsParams = {}): ListClientsResult {
    const page = this.#clients.page({
      limit: params.limit ?? CONTROL_PAGE,
      cursor: params.cursor,
      online_only: params.online_only ?? false,
    });
    const clients = page.clients.map((c) => ({
      uuid: c.uuid,
      display_name: c.display_name,
      purpose: c.purpose,
      tags: c.tags,
      online: c.online,
      hostname: c.hostname ?? null,
      platform: c.platform ?? null,
      last_seen: c.last_seen,
      key_mismatch: c.key_mismatch,
    }));
    const counts = this.#clients.counts();
    return { clients, online_count: counts.online, total_count: counts.total, next_cursor: page.next_cursor };
  }
}
