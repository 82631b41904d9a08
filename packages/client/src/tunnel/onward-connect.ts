import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { ReachError } from '@reach/protocol';
import ssh2 from 'ssh2';

/**
 * Onward SSH from the client to hosts in its network, through a chain of jump hosts: the only place
 * the ssh-sessions feature touches ssh2. Everything it returns is Reach's own types.
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

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_KEEPALIVE_MS = 15_000;

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

/** Splits an SSH public key blob (RFC 4253 §6.6) into its type and base64, with its fingerprint. */
export function describeHostKey(blob: Buffer): PresentedHostKey {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const keyType = blob.subarray(4, 4 + len).toString('latin1');
  const digest = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  return { keyType, keyBase64: blob.toString('base64'), fingerprint: `SHA256:${digest}` };
}

function cancelled(): ReachError {
  return new ReachError('CANCELLED', 'ssh connection cancelled');
}

function hopName(hop: OnwardHop): string {
  return `${hop.username}@${hop.host}:${hop.port}`;
}

interface ErrorWithLevel extends Error {
  level?: string;
  code?: string | number;
}

/** Maps an ssh2/socket failure at `hop` to Reach's vocabulary; jump hosts get SSH_JUMP_HOST_ERROR. */
function classify(err: ErrorWithLevel, hop: OnwardHop, index: number, total: number): ReachError {
  const isJump = index < total - 1;
  const auth = err.level === 'client-authentication';
  const reason = err.message || String(err.code ?? 'unknown');
  const details = { host: hop.host, port: hop.port, username: hop.username, hop: index, reason };
  if (isJump) {
    return new ReachError(
      'SSH_JUMP_HOST_ERROR',
      `jump host ${hopName(hop)}: ${auth ? 'authentication failed' : `connection failed (${reason})`}`,
      {
        details,
        cause: err,
        recoveryHint: 'check the jump host address, credentials and that it allows TCP forwarding',
      },
    );
  }
  if (auth) {
    return new ReachError('SSH_AUTH_FAILED', `authentication failed for ${hopName(hop)}`, {
      details,
      cause: err,
      recoveryHint: 'check the username, password or key file',
    });
  }
  return new ReachError('SSH_CONNECTION_FAILED', `cannot connect to ${hopName(hop)}: ${reason}`, {
    details,
    cause: err,
    recoveryHint: 'check the host, port and that an SSH server runs there',
  });
}

function forwardThrough(client: ssh2.Client, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}

function connectHop(
  hop: OnwardHop,
  index: number,
  total: number,
  sock: Duplex | undefined,
  options: ConnectOnwardOptions,
): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKeyError: ReachError | undefined;
    let settled = false;
    const onAbort = (): void => fail(cancelled());
    const fail = (err: ReachError): void => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.end();
      reject(err);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      client.removeListener('close', onEarlyClose);
      resolve(client);
    });
    client.on('error', (err: ErrorWithLevel) => {
      fail(hostKeyError ?? classify(err, hop, index, total));
    });
    const onEarlyClose = (): void => {
      fail(hostKeyError ?? classify(new Error('connection closed during handshake'), hop, index, total));
    };
    client.on('close', onEarlyClose);
    if (hop.password !== undefined) {
      const password = hop.password;
      client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
        finish(prompts.map(() => password));
      });
    }
    const config: ssh2.ConnectConfig = {
      host: hop.host,
      port: hop.port,
      username: hop.username,
      readyTimeout: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      keepaliveInterval: options.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        options.checkHostKey(hop, describeHostKey(key), index).then(
          () => verify(true),
          (err: unknown) => {
            hostKeyError =
              err instanceof ReachError
                ? err
                : new ReachError('SSH_CONNECTION_FAILED', `host key check failed for ${hopName(hop)}`, {
                    cause: err,
                  });
            verify(false);
          },
        );
      },
    };
    if (sock !== undefined) config.sock = sock;
    if (hop.privateKey !== undefined) config.privateKey = hop.privateKey;
    else if (hop.password !== undefined) {
      config.password = hop.password;
      config.tryKeyboard = true;
    }
    try {
      client.connect(config);
    } catch (err) {
      fail(classify(err as ErrorWithLevel, hop, index, total));
    }
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
