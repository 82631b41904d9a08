import type { Duplex } from 'node:stream';
import { ReachError } from '@reach/protocol';
import ssh2 from 'ssh2';
import { cancelled, connectHop, hopName } from './connect-hop.ts';

/**
 * Onward SSH from the client to hosts in its network, through a chain of jump hosts: with
 * connect-hop.ts, the only place the ssh-sessions feature touches ssh2. Everything it returns is
 * Reach's own types.
 */

/** One SSH hop. Exactly one of `password` / `privateKey` is set. */
export interface OnwardHop {
  host: string;
  port: number;
  username: string;
  password?: string | undefined;
  /** Private key file contents (OpenSSH or PEM, unencrypted). */
  privateKey?: Buffer | undefined;
}

/** The host key a hop presented during the handshake. */
export interface PresentedHostKey {
  /** e.g. `ssh-ed25519`. */
  keyType: string;
  /** Base64 of the public key blob, as in a known_hosts line. */
  keyBase64: string;
  /** `SHA256:<unpadded base64>`, as OpenSSH prints it. */
  fingerprint: string;
}

/** Resolves if the key is trusted for `hop`; rejects (with a ReachError) to refuse the connection. */
export type HostKeyCheck = (hop: OnwardHop, key: PresentedHostKey, hopIndex: number) => Promise<void>;

export interface ConnectOnwardOptions {
  checkHostKey: HostKeyCheck;
  /** Handshake and authentication deadline per hop, in ms. */
  readyTimeoutMs?: number;
  /** Aborting ends the hops connected so far and fails with CANCELLED. */
  signal?: AbortSignal | undefined;
  /** SSH keepalive interval in ms (0 disables). */
  keepaliveIntervalMs?: number;
}

export interface ShellOptions {
  cols: number;
  rows: number;
  term: string;
}

/** An interactive PTY shell on the last hop. Output arrives as UTF-8 text (stdout and stderr merged). */
export interface OnwardShell {
  /** Throws SSH_SESSION_SEND_ERROR when the shell is closed. Returns the number of bytes written. */
  write(text: string): number;
  onData(listener: (text: string) => void): void;
  /** Called once when the channel closes; `exitCode` is the shell's exit status when the server sent one. */
  onClose(listener: (exitCode: number | undefined) => void): void;
  readonly closed: boolean;
  close(): void;
}

/** An authenticated connection to the last hop of a chain. */
export interface OnwardConnection {
  openShell(options: ShellOptions): Promise<OnwardShell>;
  /** Called once when the connection to the last hop (or any hop before it) ends. */
  onClose(listener: () => void): void;
  close(): void;
}

/** Checks that `data` is a private key ssh2 can use; throws SSH_KEY_NOT_FOUND describing why not. */
export function validatePrivateKey(data: Buffer, path: string): void {
  const parsed = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) {
    const encrypted = /passphrase/i.test(parsed.message);
    throw new ReachError(
      'SSH_KEY_NOT_FOUND',
      encrypted ? `key file is encrypted: ${path}` : `key file is not a usable private key: ${path}`,
      {
        details: { key_file: path, reason: parsed.message },
        recoveryHint: encrypted
          ? 'use an unencrypted key file (passphrases are not supported)'
          : 'give an OpenSSH or PEM private key file',
      },
    );
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || !key.isPrivateKey()) {
    throw new ReachError('SSH_KEY_NOT_FOUND', `key file holds no private key: ${path}`, {
      details: { key_file: path },
      recoveryHint: 'give the private key file, not the .pub file',
    });
  }
}

function forwardThrough(client: ssh2.Client, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

/**
 * Connects through `hops` in order (the first is nearest this machine, the last is the target),
 * tunnelling each hop through the previous one with a direct-tcpip channel (RFC 4254 §7.2).
 */
export async function connectOnward(
  hops: OnwardHop[],
  options: ConnectOnwardOptions,
): Promise<OnwardConnection> {
  const clients: ssh2.Client[] = [];
  const closeAll = (): void => {
    for (const c of [...clients].reverse()) c.end();
  };
  try {
    for (const [index, hop] of hops.entries()) {
      if (options.signal?.aborted) throw cancelled();
      const previous = clients.at(-1);
      let sock: Duplex | undefined;
      if (previous !== undefined) {
        const prevHop = hops[index - 1]!;
        try {
          sock = await forwardThrough(previous, hop.host, hop.port);
        } catch (err) {
          throw new ReachError(
            'SSH_JUMP_HOST_ERROR',
            `jump host ${hopName(prevHop)} could not reach ${hop.host}:${hop.port}: ${(err as Error).message}`,
            {
              details: {
                jump_host: prevHop.host,
                jump_port: prevHop.port,
                host: hop.host,
                port: hop.port,
                hop: index,
              },
              cause: err,
              recoveryHint: 'check that the jump host can reach the next host and allows TCP forwarding',
            },
          );
        }
      }
      clients.push(await connectHop(hop, index, hops.length, sock, options));
    }
    if (options.signal?.aborted) throw cancelled();
  } catch (err) {
    closeAll();
    throw err;
  }
  const last = clients.at(-1);
  if (last === undefined) throw new ReachError('INVALID_ARGUMENT', 'no host to connect to');
  const closeListeners: Array<() => void> = [];
  let closed = false;
  const onAnyClose = (): void => {
    if (closed) return;
    closed = true;
    closeAll();
    for (const l of closeListeners) l();
  };
  for (const c of clients) {
    c.on('close', onAnyClose);
    // Errors after the handshake surface as 'close'; without a listener they would throw.
    c.on('error', () => undefined);
  }
  return {
    openShell: (shellOptions) => openShell(last, shellOptions),
    onClose: (listener) => {
      if (closed) listener();
      else closeListeners.push(listener);
    },
    close: () => {
      closeAll();
    },
  };
}

function openShell(client: ssh2.Client, options: ShellOptions): Promise<OnwardShell> {
  return new Promise((resolve, reject) => {
    client.shell({ term: options.term, cols: options.cols, rows: options.rows }, (err, channel) => {
      if (err) {
        reject(
          new ReachError('SSH_CONNECTION_FAILED', `could not open a shell: ${err.message}`, { cause: err }),
        );
        return;
      }
      resolve(wrapChannel(channel));
    });
  });
}

function wrapChannel(channel: ssh2.ClientChannel): OnwardShell {
  let closed = false;
  let exitCode: number | undefined;
  const dataListeners: Array<(text: string) => void> = [];
  const closeListeners: Array<(exitCode: number | undefined) => void> = [];
  const emit = (text: string): void => {
    for (const l of dataListeners) l(text);
  };
  channel.setEncoding('utf8');
  channel.stderr.setEncoding('utf8');
  channel.on('data', emit);
  channel.stderr.on('data', emit);
  channel.on('exit', (code: number | null) => {
    if (typeof code === 'number') exitCode = code;
  });
  channel.on('error', () => undefined);
  channel.on('close', () => {
    if (closed) return;
    closed = true;
    for (const l of closeListeners) l(exitCode);
  });
  return {
    get closed() {
      return closed;
    },
    write(text: string): number {
      if (closed || !channel.writable) {
        throw new ReachError('SSH_SESSION_SEND_ERROR', 'the session shell is closed', {
          recoveryHint: 'open a new session',
        });
      }
      const bytes = Buffer.from(text, 'utf8');
      channel.write(bytes);
      return bytes.length;
    },
    onData(listener) {
      dataListeners.push(listener);
    },
    onClose(listener) {
      if (closed) listener(exitCode);
      else closeListeners.push(listener);
    },
    close() {
      if (!closed) channel.close();
    },
  };
}
