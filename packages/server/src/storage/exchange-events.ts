import type { ClientService } from '../clients/client-service.ts';
import type { ExchangeRow } from '../db/exchange-store.ts';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';

/** The server as a source: objects it uploads live under `transfers/server/`. */
export const SERVER_SOURCE = 'server';

/** The webhooks of the exchange: `r2_transfer` on each bucket step, `file_transferred` when a file lands. */
export class ExchangeEvents {
  readonly #clients: ClientService;
  readonly #webhooks: Pick<WebhookDispatcher, 'enqueue'>;

  constructor(clients: ClientService, webhooks: Pick<WebhookDispatcher, 'enqueue'>) {
    this.#clients = clients;
    this.#webhooks = webhooks;
  }

  uploaded(row: ExchangeRow): void {
    this.#event('r2_transfer', row.source_client, {
      direction: 'upload',
      transfer_id: row.transfer_id,
      key: row.object_key,
      size: row.size,
      sha256: row.sha256,
      source_client: row.source_client,
      dest_client: row.dest_client,
      state: row.state,
    });
  }

  /** A file reached its destination (`dest` is a client uuid or `server`). */
  landed(dest: string, key: string, path: string, size: number, sha256: string): void {
    const data = { key, path, size, sha256, method: 'bucket' };
    this.#event('r2_transfer', dest, { direction: 'download', ...data });
    this.#event('file_transferred', dest, { direction: 'download', ...data });
  }

  #event(event: 'r2_transfer' | 'file_transferred', client: string, data: Record<string, unknown>): void {
    let who = { uuid: client, display_name: client };
    if (client !== SERVER_SOURCE) {
      try {
        const c = this.#clients.resolve(client);
        who = { uuid: c.uuid, display_name: c.display_name };
      } catch {
        // An unknown uuid still gets its event, named by the uuid.
      }
    }
    this.#webhooks.enqueue({ event, client: who, data });
  }
}
