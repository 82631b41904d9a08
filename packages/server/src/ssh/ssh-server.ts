import { type AddressInfo, createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { LINK, retryHintLine } from '@reach/protocol';
import { sshAlgorithms } from '@reach/protocol/node';
import ssh2 from 'ssh2';
import { boundedText } from '../log/bounded-text.ts';
import type { Logger } from '../log/logger.ts';
import { Admission, type AdmissionOptions, type AdmissionVerdict, sourceOf } from './admission.ts';
import type { AuthorizedKeys } from './authorized-keys.ts';
import { Link } from './link.ts';
import { publicKeyAuth } from './public-key-auth.ts';

/**
 * One authenticated SSH connection from a client, seen through Reach's own types. Identity
 * (`fingerprint`, `publicKey`) comes from the handshake, never from anything the client says.
 */
/** How a stream channel is opened (openStreamChannel). */
export interface StreamChannelOptions {
  /**
   * Interactive (a terminal): keep ssh2's 2 MiB receive window instead of the 16 MiB bulk one, so
   * a terminal whose browser stops reading holds at most 2 MiB here before SSH flow control stops
   * the client's PTY (with 16 MiB, four stalled terminals could pin 64 MiB per client). Keystroke
   * echo does not need a wide window.
   */
  interactive?: boolean;
}

export interface SshLink {
  /** Process-unique id of this connection, for logs. */
  readonly id: number;
  /** `SHA256:…` of the key the client authenticated with. */
  readonly fingerprint: string;
  /** `<type> <base64>` of that key. */
  readonly publicKey: string;
  /** SSH user name the client logged in as. */
  readonly username: string;
  readonly remoteAddress: string;
  readonly closed: boolean;
  /** Opens a `forwarded-tcpip` channel to the client's virtual agent forward (`agent`:0). */
  openAgentChannel(): Promise<Duplex>;
  /**
   * Opens a bulk-transfer channel to the client's virtual `stream`:0 forward, with a widened
   * receive window (CONNECTION_ERROR if the client did not ask for that forward).
   */
  openStreamChannel(opts?: StreamChannelOptions): Promise<Duplex>;
  /** Ends the SSH connection. Idempotent. */
  close(): void;
  /** Called once when the connection is gone (immediately if it already is). */
  onClose(listener: () => void): void;
}

export interface SshServerOptions {
  host: string;
  /** 0 picks an ephemeral port; see `port` after `listen()`. */
  port: number;
  /** OpenSSH private host key text. */
  hostKey: string;
  authorizedKeys: AuthorizedKeys;
  log: Logger;
  /** Admission of connections still handshaking or authenticating (see `Admission`). */
  admission: AdmissionOptions;
  /**
   * How long a connection turned away at accept should wait before it comes back (sent to it as a
   * retry hint line before the close); absent: it is closed without one.
   */
  retryAfterMs?: () => number;
  /** A connection that sent no byte (not even its SSH identification) within this many ms is dropped. */
  bannerTimeoutMs: number;
  /** A connection not authenticated within this many ms is dropped. */
  authTimeoutMs: number;
  /** The client asked for the virtual agent forward: the link is ready for registration. */
  onLink(link: SshLink): void;
  /** The client opened the control subsystem on a session channel. */
  onControl(link: SshLink, stream: Duplex): void;
  /** The client opened the release subsystem on a session channel (self-update over the link). */
  onRelease?: (link: SshLink, stream: Duplex) => void;
}

let nextLinkId = 1;

/** How long a connection that failed at the protocol level may flush its DISCONNECT, in ms. */
const ERROR_LINGER_MS = 1000;

/** Refused connections are summed up in one log line at most this often, in ms (a flood of 300
 * sockets would otherwise write 300 lines). */
const DROP_LOG_INTERVAL_MS = 10_000;
/** A turned-away socket that does not read its hint and close is destroyed after this, in ms. */
const TURN_AWAY_LINGER_MS = 2_000;
/** After the hint was handed to the kernel, time for it to reach the peer before the socket goes. */
const TURN_AWAY_FLUSH_MS = 50;
/** Turned-away sockets still taking their hint, at most; past it refusals are plain resets. */
const MAX_LINGERING = 256;

interface PendingSocket {
  socket: Socket;
  /** Leaves the unauthenticated set (on 'ready' or close). Idempotent. */
  authenticated(): void;
}

/** The embedded SSH server (the only ssh2 user on the server side). */
export class SshServer {
  readonly #opts: SshServerOptions;
  readonly #server: ssh2.Server;
  /** Accepts TCP itself so accounting starts before the SSH greeting (ssh2 only reports a
   * connection once the peer sent its identification string). */
  readonly #net: NetServer;
  /** Unauthenticated sockets by `ip:port`, until 'ready' or close. */
  readonly #pending = new Map<string, PendingSocket>();
  readonly #links = new Set<ssh2.Connection>();
  readonly #admission: Admission;
  /** Refusals since the last summary line, by verdict. */
  #dropped = new Map<AdmissionVerdict, number>();
  /** Turned-away sockets whose retry hint is still on its way (#turnAway). */
  #lingering = 0;
  #droppedLoggedAt = Number.NEGATIVE_INFINITY;
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(opts: SshServerOptions) {
    this.#opts = opts;
    this.#admission = new Admission(opts.admission);
    this.#server = new ssh2.Server(
      {
        hostKeys: [opts.hostKey],
        ident: 'reach-server',
        algorithms: sshAlgorithms() as ssh2.Algorithms,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
      },
      (conn, info) => this.#onConnection(conn, info),
    );
    this.#net = createServer({ noDelay: true }, (socket) => this.#onSocket(socket));
  }

  /** The bound SSH port (after listen). */
  get port(): number {
    return this.#port;
  }

  get connectionCount(): number {
    return this.#links.size;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#net.once('error', reject);
      this.#net.listen(this.#opts.port, this.#opts.host, () => {
        this.#net.off('error', reject);
        this.#net.on('error', (err: Error) => this.#opts.log.error({ err }, 'ssh listener error'));
        this.#port = (this.#net.address() as AddressInfo).port;
        resolve(this.#port);
      });
    });
  }

  /** Stops listening and ends every connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const pending of this.#pending.values()) pending.socket.destroy();
      for (const conn of this.#links) conn.end();
      // A peer that never answers our FIN would hold close() forever: destroy what is left.
      const force = setTimeout(() => {
        for (const conn of this.#links) (conn as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
      }, 2000);
      force.unref();
      // Resolves once every connection is gone; an error only means it was not listening.
      this.#net.close(() => {
        clearTimeout(force);
        resolve();
      });
    });
    return this.#closing;
  }

  /** Unauthenticated connections held now. */
  get pendingCount(): number {
    return this.#admission.pending;
  }

  /**
   * A new TCP connection: admitted or dropped at once by `Admission` (per-source cap, random early
   * drop, full), then destroyed if it sends nothing within bannerTimeoutMs or has not
   * authenticated within authTimeoutMs, else handed to ssh2.
   */
  #onSocket(socket: Socket): void {
    socket.on('error', () => {});
    const source = sourceOf(socket.remoteAddress);
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const verdict = this.#admission.admit(source);
    if (verdict !== 'admitted') {
      this.#turnAway(socket, verdict);
      this.#noteDropped(verdict, source);
      return;
    }
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    // A real client sends its identification string as soon as TCP is up (RFC 4253 §4.2); a
    // socket that stays silent only holds a slot.
    const banner = setTimeout(() => {
      this.#opts.log.debug({ remote: key }, 'no SSH identification in time; dropping');
      socket.destroy();
    }, this.#opts.bannerTimeoutMs);
    socket.once('data', () => clearTimeout(banner));
    const timer = setTimeout(() => {
      this.#opts.log.info({ remote: key }, 'authentication timed out');
      socket.destroy();
    }, this.#opts.authTimeoutMs);
    let held = true;
    const pending: PendingSocket = {
      socket,
      authenticated: () => {
        clearTimeout(banner);
        clearTimeout(timer);
        if (held) {
          held = false;
          this.#admission.release(source);
        }
        if (this.#pending.get(key) === pending) this.#pending.delete(key);
      },
    };
    this.#pending.set(key, pending);
    socket.once('close', pending.authenticated);
    this.#server.injectSocket(socket);
  }

  /**
   * Closes a connection the server has no room for. In a storm (the server full, or dropping
   * early) it is told when to come back: a line before any SSH identification (RFC 4253 §4.2),
   * about 80 bytes. One source over its own cap is a flood, not a fleet: it is reset at once, as
   * is everything past MAX_LINGERING sockets still taking their hint, so refusals hold no fds.
   */
  #turnAway(socket: Socket, verdict: AdmissionVerdict): void {
    const after =
      verdict === 'per-source' || this.#lingering >= MAX_LINGERING ? undefined : this.#opts.retryAfterMs?.();
    if (after === undefined) {
      socket.destroy();
      return;
    }
    this.#lingering += 1;
    socket.once('close', () => {
      this.#lingering -= 1;
    });
    // Read (and drop) what the peer sends, so closing does not reset the connection over unread
    // bytes and lose the hint; closed once the hint has left, at the latest after the linger.
    socket.resume();
    socket.end(retryHintLine(after), () => setTimeout(() => socket.destroy(), TURN_AWAY_FLUSH_MS).unref());
    setTimeout(() => socket.destroy(), TURN_AWAY_LINGER_MS).unref();
  }

  #noteDropped(verdict: AdmissionVerdict, source: string): void {
    this.#dropped.set(verdict, (this.#dropped.get(verdict) ?? 0) + 1);
    const now = Date.now();
    if (now - this.#droppedLoggedAt < DROP_LOG_INTERVAL_MS) return;
    this.#droppedLoggedAt = now;
    const counts = Object.fromEntries(this.#dropped);
    this.#dropped = new Map();
    const { start, full, perSource } = this.#opts.admission;
    this.#opts.log.warn(
      { dropped: counts, lastSource: source, pending: this.#admission.pending, start, full, perSource },
      'unauthenticated connections dropped at accept',
    );
  }

  #onConnection(conn: ssh2.Connection, info: ssh2.ClientInfo): void {
    const log = this.#opts.log.child({ remote: `${info.ip}:${info.port}` });
    this.#links.add(conn);
    const pending = this.#pending.get(`${info.ip}:${info.port}`);
    const socket = pending?.socket;
    conn.on('error', (err: Error) => {
      log.debug({ err: boundedText(err.message) }, 'ssh connection error');
      // ssh2 only end()s the socket after a protocol error and keeps reading what the peer sends
      // until it closes: a 20 MB user-auth packet was read and dropped in full (+31 MiB RSS).
      // Stop reading at once; let the DISCONNECT already written reach the peer, then drop it.
      if (!socket || socket.destroyed) return;
      socket.pause();
      setTimeout(() => socket.destroy(), ERROR_LINGER_MS).unref();
    });
    let link: Link | undefined;
    conn.once('close', () => {
      this.#links.delete(conn);
      link?.markClosed();
    });
    const identity = publicKeyAuth(conn, this.#opts.authorizedKeys, log);

    conn.on('ready', () => {
      pending?.authenticated();
      const proven = identity();
      if (!proven) {
        conn.end();
        return;
      }
      link = new Link(nextLinkId++, proven, info.ip, conn);
      const current = link;
      let sessionsRefused = false;
      log.debug({ link: current.id, fingerprint: current.fingerprint }, 'client authenticated');

      conn.on('request', (accept, reject, name, data) => {
        const forward = data as { bindAddr?: string; bindPort?: number };
        if (
          name === 'tcpip-forward' &&
          forward.bindAddr === LINK.agentBindAddr &&
          forward.bindPort === LINK.agentBindPort
        ) {
          // Virtual forward (PITFALLS 4): nothing is bound; the server opens channels itself.
          accept?.();
          if (!current.forwarded) {
            current.forwarded = true;
            this.#opts.onLink(current);
          }
          return;
        }
        if (
          name === 'tcpip-forward' &&
          forward.bindAddr === LINK.streamBindAddr &&
          forward.bindPort === LINK.streamBindPort
        ) {
          accept?.(); // Virtual too: bulk-transfer channels are opened by the server.
          current.streamForwarded = true;
          return;
        }
        if (name === 'cancel-tcpip-forward' && forward.bindAddr === LINK.streamBindAddr) {
          current.streamForwarded = false;
          accept?.();
          return;
        }
        if (name === 'cancel-tcpip-forward' && forward.bindAddr === LINK.agentBindAddr) {
          accept?.();
          return;
        }
        log.info(
          { request: boundedText(name), bindAddr: boundedText(String(forward.bindAddr)) },
          'global request refused',
        );
        reject?.();
      });

      conn.on('tcpip', (_accept, reject) => reject());
      conn.on('session', (accept, reject) => {
        // Refused at the open, past the link's cap, so a refused channel costs nothing.
        const release = current.takeControlSlot();
        if (!release) {
          // Once per link: a client opening hundreds must not write hundreds of lines.
          if (!sessionsRefused) log.warn({ link: current.id }, 'session channels refused: too many open');
          sessionsRefused = true;
          reject();
          return;
        }
        const session = accept();
        session.once('close', release);
        session.on('subsystem', (acceptSub, rejectSub, sub) => {
          const serve =
            sub.name === LINK.controlSubsystem
              ? this.#opts.onControl
              : sub.name === LINK.releaseSubsystem
                ? this.#opts.onRelease
                : undefined;
          if (!serve) {
            rejectSub();
            return;
          }
          const stream = acceptSub();
          stream.on('error', () => {});
          serve(current, stream);
        });
      });
    });
  }
}
