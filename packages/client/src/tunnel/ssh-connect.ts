import { connect as netConnect, type Socket } from 'node:net';
import { parseRetryHint, ReachError } from '@reach/protocol';
import { sshAlgorithms } from '@reach/protocol/node';
import ssh2 from 'ssh2';
import type { Logger } from '../log/logger.ts';
import { blobFingerprint, knownHostName, pinKey, readPinnedKeys } from './known-hosts.ts';

export interface SshTarget {
  host: string;
  port: number;
  username: string;
  /** OpenSSH private key text; never logged. */
  privateKey: string;
  /** OpenSSH known_hosts file pinning the server's host key. */
  knownHostsPath: string;
  log: Logger;
  /** Told, in words, when a host key is pinned on first use (the CLI prints it, as ssh does). */
  onPinned?: ((text: string) => void) | undefined;
}

/** Bytes before the SSH identification looked at for a retry hint. */
const PREAMBLE_MAX = 1024;

/** Deadline of the TCP connect and of the SSH handshake after it, in ms. */
const READY_TIMEOUT_MS = 20_000;

/**
 * One TCP connection to host:port (both address families tried, as net.connect does), so the
 * address actually reached is known before the handshake: known_hosts is checked under it too.
 */
function connectTcp(host: string, port: number, signal: AbortSignal | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host, port, timeout: READY_TIMEOUT_MS });
    const cleanup = (): void => {
      sock.off('connect', onConnect);
      sock.off('error', onError);
      sock.off('timeout', onTimeout);
      signal?.removeEventListener('abort', onAbort);
    };
    const onConnect = (): void => {
      cleanup();
      sock.setTimeout(0);
      resolve(sock);
    };
    const onError = (err: Error): void => {
      cleanup();
      sock.destroy();
      reject(err);
    };
    const onTimeout = (): void => onError(new Error(`connect timed out after ${READY_TIMEOUT_MS} ms`));
    const onAbort = (): void => onError(new Error('cancelled'));
    sock.once('connect', onConnect);
    sock.once('error', onError);
    sock.once('timeout', onTimeout);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** ssh2 marks failure sources with `level`. */
function levelOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'level' in err ? String(err.level) : undefined;
}

/**
 * Opens one authenticated SSH connection to the Reach server. The host key is checked against
 * known_hosts: pinned on first connect, and a different key is refused with SSH_HOST_KEY_MISMATCH
 * naming both fingerprints. Other failures become SSH_AUTH_FAILED or SSH_CONNECTION_FAILED.
 */
export async function connectSsh(target: SshTarget, signal?: AbortSignal): Promise<ssh2.Client> {
  const name = knownHostName(target.host, target.port);
  let hostKeyError: ReachError | undefined;
  const cancelled = (): ReachError => new ReachError('CANCELLED', `connecting to ${name} was cancelled`);
  if (signal?.aborted) throw cancelled();
  let sock: Socket;
  try {
    sock = await connectTcp(target.host, target.port, signal);
  } catch (err) {
    if (signal?.aborted) throw cancelled();
    throw new ReachError('SSH_CONNECTION_FAILED', `cannot connect to ${name}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // Nagle plus delayed ACKs add ~40 ms to every small RPC frame; RPC latency is what matters here.
  sock.setNoDelay(true);
  // OpenSSH's CheckHostIP: a key pinned under the name, else under the address reached, is the
  // one expected; `localhost` and `127.0.0.1` are one server, not two entries to pin.
  const address = sock.remoteAddress;
  const addressName = address === undefined ? name : knownHostName(address, target.port);
  let pinned: Awaited<ReturnType<typeof readPinnedKeys>>;
  let pinnedUnder = name;
  try {
    pinned = await readPinnedKeys(target.knownHostsPath, name);
    if (pinned.length === 0 && addressName !== name) {
      pinned = await readPinnedKeys(target.knownHostsPath, addressName);
      pinnedUnder = addressName;
    }
  } catch (err) {
    sock.destroy();
    throw err;
  }
  const pinAs = addressName === name ? name : `${name},${addressName}`;

  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    // Aborting tears the socket down at once: end() before the handshake would wait out ssh2's
    // readyTimeout (20 s) against a peer that never answers.
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      client.destroy();
      sock.destroy();
      reject(cancelled());
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    // What the server sent before its SSH identification: a retry hint when it turned us away.
    let preamble = '';
    const sniff = (chunk: Buffer): void => {
      preamble += chunk.toString('latin1');
      if (preamble.includes('SSH-') || preamble.length > PREAMBLE_MAX) sock.off('data', sniff);
    };
    const fail = (err: ReachError): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      client.end();
      const retryAfterMs = parseRetryHint(preamble.slice(0, PREAMBLE_MAX));
      reject(
        retryAfterMs === undefined || err.code !== 'SSH_CONNECTION_FAILED'
          ? err
          : new ReachError('SSH_CONNECTION_FAILED', `server ${name} is busy: retry in ${retryAfterMs} ms`, {
              details: { retry_after_ms: retryAfterMs },
              cause: err,
            }),
      );
    };
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      resolve(client);
    });
    client.on('error', (err: Error) => {
      if (hostKeyError) return fail(hostKeyError);
      if (levelOf(err) === 'client-authentication') {
        return fail(
          new ReachError('SSH_AUTH_FAILED', `server ${name} refused our key`, {
            recoveryHint: 'Authorize this client key on the server: reach-server authorize <key>.',
            cause: err,
          }),
        );
      }
      fail(
        new ReachError('SSH_CONNECTION_FAILED', `cannot connect to ${name}: ${err.message}`, { cause: err }),
      );
    });
    client.on('close', () => {
      fail(hostKeyError ?? new ReachError('SSH_CONNECTION_FAILED', `connection to ${name} closed`));
    });
    // Together with ssh2's own listener (added by connect below, in this same tick): both see every byte.
    sock.on('data', sniff);
    client.connect({
      sock,
      username: target.username,
      privateKey: target.privateKey,
      ident: 'reach',
      algorithms: sshAlgorithms() as ssh2.Algorithms,
      readyTimeout: READY_TIMEOUT_MS,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        const offered = blobFingerprint(key);
        if (pinned.length === 0) {
          pinKey(target.knownHostsPath, pinAs, key).then(
            () => {
              target.log.info(
                { host: pinAs, fingerprint: offered },
                'server host key pinned on first connect',
              );
              target.onPinned?.(
                `permanently added ${pinAs} (${offered}) to ${target.knownHostsPath}; a different key from now on is refused`,
              );
              verify(true);
            },
            (err: unknown) => {
              hostKeyError = new ReachError(
                'SSH_CONNECTION_FAILED',
                `cannot write known_hosts: ${String(err)}`,
              );
              verify(false);
            },
          );
          return;
        }
        if (pinned.some((p) => p.blob.equals(key))) {
          verify(true);
          return;
        }
        const expected = pinned.map((p) => p.fingerprint).join(', ');
        hostKeyError = new ReachError(
          'SSH_HOST_KEY_MISMATCH',
          `host key of ${pinnedUnder} changed: pinned ${expected}, server offered ${offered}. Refusing to connect.`,
          {
            details: { host: pinnedUnder, pinned: expected, offered },
            recoveryHint: `If the server key really changed, remove the ${pinnedUnder} line from ${target.knownHostsPath}.`,
          },
        );
        verify(false);
      },
    });
  });
}
