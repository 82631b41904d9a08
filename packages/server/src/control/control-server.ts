import type { Duplex } from 'node:stream';
import { CONTROL_METHODS, LIMITS, ReachError, type RpcHandler } from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import type { z } from 'zod';
import type { ClientService } from '../clients/client-service.ts';
import type { ClientStore } from '../db/client-store.ts';
import type { Logger } from '../log/logger.ts';
import type { SshLink } from '../ssh/ssh-server.ts';

type ListClientsResult = z.infer<typeof CONTROL_METHODS.list_clients.result>;

/**
 * Serves control methods (client → server) on the `reach-control` subsystem. The SSH key is the
 * credential: any authorized key may call, except one waiting for accept_key (SSH_KEY_MISMATCH).
 */
export class ControlServer {
  readonly #clients: ClientService;
  readonly #store: ClientStore;
  readonly #log: Logger;

  constructor(deps: { clients: ClientService; store: ClientStore; log: Logger }) {
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
          if (!checked.success) throw new ReachError('INVALID_ARGUMENT', 'list_clients takes no parameters');
          return this.listClients();
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

  listClients(): ListClientsResult {
    const clients = this.#clients.list().map((c) => ({
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
    return { clients, online_count: counts.online, total_count: counts.total };
  }
}
