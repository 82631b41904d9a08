import type { Duplex } from 'node:stream';
import { ReachError } from '@reach/protocol';
import ssh2 from 'ssh2';
import { blobFingerprint } from './known-hosts.ts';
import type { ConnectOnwardOptions, OnwardHop, PresentedHostKey } from './onward-connect.ts';

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const DEFAULT_KEEPALIVE_MS = 15_000;

/** Splits an SSH public key blob (RFC 4253 §6.6) into its type and base64, with its fingerprint. */
export function describeHostKey(blob: Buffer): PresentedHostKey {
  const len = blob.length >= 4 ? blob.readUInt32BE(0) : 0;
  const keyType = blob.subarray(4, 4 + len).toString('latin1');
  return { keyType, keyBase64: blob.toString('base64'), fingerprint: blobFingerprint(blob) };
}

/** The error of a connection attempt whose caller aborted. */
export function cancelled(): ReachError {
  return new ReachError('CANCELLED', 'ssh connection cancelled');
}

/** `user@host:port`, as hops are named in error messages. */
export function hopName(hop: OnwardHop): string {
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

/**
 * Connects and authenticates one hop of a chain (`index` of `total`), over `sock` when it is
 * tunnelled through the previous hop; the host key goes through `options.checkHostKey` first.
 */
export function connectHop(
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
