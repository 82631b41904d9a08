import type { Duplex } from 'node:stream';
import { LINK, ReachError } from '@reach/protocol';
import { coalesceWrites, widenReceiveWindow } from '@reach/protocol/node';
import type ssh2 from 'ssh2';
import { ChannelBudget, type ChannelCaps, type ChannelKind } from './channel-budget.ts';
import type { SshLink, StreamChannelOptions } from './ssh-server.ts';

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
  readonly #channels: ChannelBudget;
  #closed = false;
  #listeners: Array<() => void> = [];

  constructor(
    id: number,
    identity: LinkIdentity,
    remoteAddress: string,
    conn: ssh2.Connection,
    caps?: ChannelCaps,
  ) {
    this.#channels = new ChannelBudget(caps);
    // Each open stream channel listens for the connection's close (openStreamChannel); the cap
    // bounds how many, so Node's default warning at 10 listeners would only be noise.
    conn.setMaxListeners(conn.getMaxListeners() + this.#channels.caps.total);
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

  /**
   * Takes a channel slot for a session the client opens (the control subsystem): its release, to
   * call when the session closes, or undefined when the link is at its cap (refuse the open).
   */
  takeControlSlot(): (() => void) | undefined {
    return this.#channels.take('control');
  }

  openAgentChannel(): Promise<Duplex> {
    return this.#forwardOut(LINK.agentBindAddr, LINK.agentBindPort, 'agent');
  }

  async openStreamChannel(opts: StreamChannelOptions = {}): Promise<Duplex> {
    if (!this.streamForwarded && !this.#closed) {
      throw new ReachError('CONNECTION_ERROR', 'this client does not accept transfer streams', {
        recoveryHint: 'upgrade the reach client on that machine',
      });
    }
    const channel = await this.#forwardOut(LINK.streamBindAddr, LINK.streamBindPort, 'stream');
    if (!opts.interactive) widenReceiveWindow(channel);
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

  /** Opens a channel of `kind` to the client, within the link's channel caps. */
  #forwardOut(addr: string, port: number, kind: ChannelKind): Promise<Duplex> {
    if (this.#closed) return Promise.reject(new ReachError('CONNECTION_ERROR', 'link closed'));
    const release = this.#channels.take(kind);
    if (!release) {
      const caps = this.#channels.caps;
      return Promise.reject(
        new ReachError('RATE_LIMIT_EXCEEDED', `too many ${kind} channels open on this client's link`, {
          details: { kind, open: this.#channels.open(kind), limit: caps[kind], total_limit: caps.total },
          recoveryHint: 'wait for a transfer in flight to finish, then retry',
        }),
      );
    }
    return new Promise<Duplex>((resolve, reject) => {
      try {
        this.#conn.forwardOut(addr, port, '127.0.0.1', 0, (err, channel) => {
          if (err) {
            release();
            reject(new ReachError('CONNECTION_ERROR', `${kind} channel refused: ${err.message}`));
            return;
          }
          channel.on('error', () => {});
          channel.once('close', release);
          resolve(channel);
        });
      } catch (err) {
        release();
        reject(new ReachError('CONNECTION_ERROR', `${kind} channel failed: ${(err as Error).message}`));
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
