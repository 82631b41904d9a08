import { EventEmitter } from 'node:events';
import type { AgentConnection } from '../agent/agent-connection.ts';
import type { RegistrationInfo } from '../db/client-store.ts';
import type { SshLink } from '../ssh/ssh-server.ts';

/** A registered, online client: its SSH link, its agent RPC connection and what it reported. */
export interface OnlineClient {
  readonly uuid: string;
  readonly link: SshLink;
  readonly agent: AgentConnection;
  /** What this connection's hello reported (connection info, capabilities, names). */
  readonly registration: RegistrationInfo;
  /** The link's key is not the UUID's trusted key: every operation is refused until accept_key. */
  quarantined: boolean;
}

export interface RegistryEvents {
  connected: [client: OnlineClient];
  /** `replaced` when a newer connection with the same UUID took over. */
  disconnected: [client: OnlineClient, reason: 'closed' | 'replaced'];
}

/**
 * The online connections, by UUID. Every state change happens here: `add` (replacing an older
 * connection with the same UUID cleanly), removal when the link or agent closes, quarantine.
 */
export class ClientRegistry extends EventEmitter<RegistryEvents> {
  readonly #online = new Map<string, OnlineClient>();

  get size(): number {
    return this.#online.size;
  }

  get(uuid: string): OnlineClient | undefined {
    return this.#online.get(uuid);
  }

  all(): OnlineClient[] {
    return [...this.#online.values()];
  }

  /** The online clients without copying them (taking a few of 10,000 costs a few). */
  values(): IterableIterator<OnlineClient> {
    return this.#online.values();
  }

  /**
   * Registers `client`; an older connection with the same UUID is closed. A quarantined `client`
   * never replaces a trusted (unquarantined) one that is still online: it is refused here, at the
   * moment of insertion, whatever was checked earlier (registration awaits `set_policy`, whose
   * reply time the connecting peer controls). Returns whether `client` is now the online one.
   */
  add(client: OnlineClient): boolean {
    if (client.link.closed || client.agent.closed) return false;
    const previous = this.#online.get(client.uuid);
    if (client.quarantined && previous && !previous.quarantined && !previous.link.closed) return false;
    this.#online.set(client.uuid, client);
    if (previous) {
      previous.agent.close('replaced by a newer connection');
      previous.link.close();
      this.emit('disconnected', previous, 'replaced');
    }
    const remove = (): void => this.#remove(client);
    client.link.onClose(remove);
    client.agent.onClose(() => {
      remove();
      client.link.close();
    });
    if (this.#online.get(client.uuid) !== client) return false;
    this.emit('connected', client);
    return true;
  }

  setQuarantined(uuid: string, quarantined: boolean): void {
    const client = this.#online.get(uuid);
    if (client) client.quarantined = quarantined;
  }

  /** Closes every online connection (server shutdown). */
  closeAll(): void {
    for (const client of [...this.#online.values()]) {
      client.agent.close('server shutting down');
      client.link.close();
    }
  }

  #remove(client: OnlineClient): void {
    if (this.#online.get(client.uuid) !== client) return;
    this.#online.delete(client.uuid);
    this.emit('disconnected', client, 'closed');
  }
}
