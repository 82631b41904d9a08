import type { Duplex } from 'node:stream';
import { LINK, ReachError } from '@reach/protocol';
import { coalesceWrites, widenReceiveWindow } from '@reach/protocol/node';
import type ssh2 from 'ssh2';
import type { SshLink } from './ssh-server.ts';

/** Who a connection proved to be during authentication (see `SshLink`). */
export interface LinkIdentity {
  fingerprint: string;
  publicKey: string;
  username: string;
}

/** The `SshLink` of one authenticated ssh2 connection; the server owns it and marks it closed. */
export class Link implements SshLink {
  readonly id: number;
  readonly fingerprint: string;
  readonly publicKey: string;
  readonly username: string;
  readonly remoteAddress: string;
  forwarded = false;
  streamForwarded = false;
  readonly #conn: ssh2.Connection;
  #closed = false;
  #listeners: Array<() => void> = [];

  constructor(id: number, identity: LinkIdentity, remoteAddress: string, conn: ssh2.Connection) {
    this.id = id;
    this.fingerprint = identity.fingerprint;
    this.publicKey = identity.publicKey;
    this.username = identity.username;
    this.remoteAddress = remoteAddress;
    this.#conn = conn;
  }

  get closed(): boolean {
    return this.#closed;
  }

  openAgentChannel(): Promise<Duplex> {
    return this.#forwardOut(LINK.agentBindAddr, LINK.agentBindPort, 'agent');
  }

  async openStreamChannel(): Promise<Duplex> {
    if (!this.streamForwarded && !this.#closed) {
      throw new ReachError('CONNECTION_ERROR', 'this client does not accept transfer streams', {
        recoveryHint: 'upgrade the reach client on that machine',
      });
    }
    const channel = await this.#forwardOut(LINK.streamBindAddr, LINK.streamBindPort, 'stream');
    widenReceiveWindow(channel);
    coalesceWrites(channel);
    // ssh2 emits a dead connection's channel 'close' only once its buffered input is read; a
    // transfer blocked on writing would never see it.
    const drop = (): void => {
      channel.destroy();
    };
    this.#conn.once('close', drop);
    channel.once('close', () => this.#conn.off('close', drop));
    return channel;
  }

  #forwardOut(addr: string, port: number, what: string): Promise<Duplex> {
    if (this.#closed) return Promise.reject(new ReachError('CONNECTION_ERROR', 'link closed'));
    return new Promise((resolve, reject) => {
      try {
        this.#conn.forwardOut(addr, port, '127.0.0.1', 0, (err, channel) => {
          if (err) {
            reject(new ReachError('CONNECTION_ERROR', `${what} channel refused: ${err.message}`));
            return;
          }
          channel.on('error', () => {});
          resolve(channel);
        });
      } catch (err) {
        reject(new ReachError('CONNECTION_ERROR', `${what} channel failed: ${(err as Error).message}`));
      }
    });
  }

  close(): void {
    if (!this.#closed) this.#conn.end();
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#listeners.push(listener);
  }

  markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const l of listeners) l();
  }
}
