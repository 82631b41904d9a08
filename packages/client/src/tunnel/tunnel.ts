import type { Duplex } from 'node:stream';
import { LINK, ReachError, type RpcHandler, type RpcPeer, toReachError } from '@reach/protocol';
import { coalesceWrites, peerOverStream, widenReceiveWindow } from '@reach/protocol/node';
import type ssh2 from 'ssh2';
import type { Logger } from '../log/logger.ts';
import type { ReconnectHints } from './reconnect-hints.ts';
import { failedConnectDelayMs, lostLinkDelayMs } from './retry-delay.ts';
import { connectSsh } from './ssh-connect.ts';

export interface TunnelOptions {
  host: string;
  port: number;
  username: string;
  /** OpenSSH private key text; never logged. */
  privateKey: string;
  /** OpenSSH known_hosts file pinning the server host key. */
  knownHostsPath: string;
  /** Agent methods served on every forwarded channel. */
  handlers: ReadonlyMap<string, RpcHandler>;
  /** Backoff base and cap, in seconds. */
  reconnectDelayS: number;
  maxReconnectDelayS: number;
  log: Logger;
  /** Told in words when the server host key is pinned on first use. */
  onPinned?: ((text: string) => void) | undefined;
  /** Uniform [0,1) source for the jitter; injectable for tests. */
  random?: () => number;
  /** The server's reconnect window (hello): the first retry after a lost link is spread over it. */
  hints?: ReconnectHints | undefined;
  /**
   * Called on the first SSH_AUTH_FAILED after start or after a successful connection (not on every
   * retry): the CLI prints what to run on the server once, while the tunnel keeps retrying.
   */
  onAuthRefused?: (err: ReachError) => void;
  /** Serves bulk-transfer channels opened to the virtual `stream` forward (none: not requested). */
  streamHandler?: (channel: Duplex) => void;
}

type TunnelState = 'idle' | 'connecting' | 'connected' | 'waiting' | 'closed';

/**
 * The client's one SSH connection to the server. It asks for the virtual `agent` reverse forward
 * and serves agent RPC on every channel the server opens to it; when the link drops it reconnects
 * forever with capped exponential backoff and full jitter. A changed server host key stops it.
 */
export class Tunnel {
  readonly #opts: TunnelOptions;
  readonly #peers = new Set<RpcPeer>();
  #state: TunnelState = 'idle';
  #client: ssh2.Client | undefined;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  /** Aborted by close(): cuts a connect attempt short. */
  readonly #stop = new AbortController();

  constructor(opts: TunnelOptions) {
    this.#opts = opts;
  }

  get state(): TunnelState {
    return this.#state;
  }

  /** Runs until close(); rejects on SSH_HOST_KEY_MISMATCH. */
  start(): Promise<void> {
    this.#running ??= this.#run();
    return this.#running;
  }

  /**
   * Opens a session channel for subsystem `name` on the live link (the release fetch of a
   * self-update). CONNECTION_ERROR when no link is up or the server refuses it.
   */
  openSubsystem(name: string, signal?: AbortSignal): Promise<Duplex> {
    const client = this.#client;
    if (client === undefined || this.#state !== 'connected') {
      return Promise.reject(new ReachError('CONNECTION_ERROR', 'no link to the server is up'));
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(new ReachError('CANCELLED', 'cancelled'));
      signal?.addEventListener('abort', onAbort, { once: true });
      client.subsys(name, (err, channel) => {
        signal?.removeEventListener('abort', onAbort);
        if (err) {
          reject(
            new ReachError('CONNECTION_ERROR', `the server refused the ${name} channel: ${err.message}`),
          );
          return;
        }
        if (signal?.aborted) {
          channel.destroy();
          return;
        }
        resolve(channel);
      });
    });
  }

  /** Stops reconnecting, closes the link and every channel. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#stop.abort();
    for (const peer of this.#peers) peer.close();
    this.#client?.end();
    this.#wake?.();
    await this.#running?.catch(() => {});
  }

  async #run(): Promise<void> {
    const log = this.#opts.log;
    let attempt = 0;
    let authRefusedTold = false;
    /** When the last link that was up was lost (the window phase of retries starts there). */
    let lostAt: number | undefined;
    while (this.#isOpen()) {
      this.#state = 'connecting';
      let client: ssh2.Client;
      try {
        client = await connectSsh(this.#opts, this.#stop.signal);
      } catch (err) {
        const reachErr = toReachError(err);
        if (reachErr.code === 'SSH_HOST_KEY_MISMATCH') {
          this.#state = 'closed';
          log.error({ code: reachErr.code, details: reachErr.details }, reachErr.message);
          throw reachErr;
        }
        if (!this.#isOpen()) break;
        const refused = reachErr.code === 'SSH_AUTH_FAILED';
        const hinted = reachErr.details?.retry_after_ms;
        const delayMs = failedConnectDelayMs({
          policy: this.#opts,
          attempt: attempt++,
          hintedMs: typeof hinted === 'number' ? hinted : undefined,
          windowMs: this.#opts.hints?.windowMs,
          lostAt,
          now: Date.now(),
          refused,
        });
        log[refused && !authRefusedTold ? 'error' : 'warn'](
          { code: reachErr.code, retry_in_ms: delayMs, attempt },
          reachErr.message,
        );
        if (refused && !authRefusedTold) {
          authRefusedTold = true;
          this.#opts.onAuthRefused?.(reachErr);
        }
        await this.#sleep(delayMs);
        continue;
      }
      if (!this.#isOpen()) {
        client.end();
        break;
      }
      this.#client = client;
      this.#state = 'connected';
      const established = await this.#serve(client);
      this.#client = undefined;
      if (established) {
        attempt = 0;
        authRefusedTold = false;
        lostAt = Date.now();
      }
      if (!this.#isOpen()) break;
      const delayMs = lostLinkDelayMs({
        policy: this.#opts,
        attempt: attempt++,
        established,
        windowMs: this.#opts.hints?.windowMs,
      });
      log.warn({ retry_in_ms: delayMs }, 'link to server lost; reconnecting');
      await this.#sleep(delayMs);
    }
    this.#state = 'closed';
  }

  /** Serves one connection until it closes; true if the agent forward was established. */
  #serve(client: ssh2.Client): Promise<boolean> {
    const log = this.#opts.log;
    return new Promise((resolve) => {
      let forwarded = false;
      const streamHandler = this.#opts.streamHandler;
      client.on('tcp connection', (info, accept, reject) => {
        if (streamHandler && info.destIP === LINK.streamBindAddr && info.destPort === LINK.streamBindPort) {
          const channel = accept();
          widenReceiveWindow(channel);
          coalesceWrites(channel);
          // ssh2 emits a dead link's channel 'close' only once its buffered input is read.
          const drop = (): void => {
            channel.destroy();
          };
          client.once('close', drop);
          channel.once('close', () => client.off('close', drop));
          streamHandler(channel);
          return;
        }
        if (info.destIP !== LINK.agentBindAddr || info.destPort !== LINK.agentBindPort) {
          reject();
          return;
        }
        this.#servePeer(accept());
      });
      // Asked before the agent forward, so the server knows about it when the link registers.
      if (streamHandler) {
        client.forwardIn(LINK.streamBindAddr, LINK.streamBindPort, (err) => {
          if (err) log.warn({ err: err.message }, 'server refused the transfer stream forward');
        });
      }
      client.once('close', () => {
        log.info('link closed');
        resolve(forwarded);
      });
      client.forwardIn(LINK.agentBindAddr, LINK.agentBindPort, (err) => {
        if (err) {
          log.error({ err: err.message }, 'server refused the agent forward');
          client.end();
          return;
        }
        forwarded = true;
        log.info({ host: this.#opts.host, port: this.#opts.port }, 'connected to server');
      });
    });
  }

  #servePeer(channel: Duplex): void {
    const peer = peerOverStream(channel, {
      handlers: this.#opts.handlers,
      onProtocolError: (err) =>
        this.#opts.log.warn({ code: err.code, msg: err.message }, 'rpc protocol error'),
      onClose: () => this.#peers.delete(peer),
    });
    this.#peers.add(peer);
  }

  #isOpen(): boolean {
    return this.#state !== 'closed';
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    }).finally(() => {
      this.#wake = undefined;
    });
  }
}
