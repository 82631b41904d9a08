import { ReachError } from '@reach/protocol';
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
  const pinned = await readPinnedKeys(target.knownHostsPath, name);
  let hostKeyError: ReachError | undefined;
  const cancelled = (): ReachError => new ReachError('CANCELLED', `connecting to ${name} was cancelled`);
  if (signal?.aborted) throw cancelled();

  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let settled = false;
    // Aborting tears the socket down at once: end() before the handshake would wait out ssh2's
    // readyTimeout (20 s) against a peer that never answers.
    const onAbort = (): void => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const fail = (err: ReachError): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      client.end();
      reject(err);
    };
    // Nagle plus delayed ACKs add ~40 ms to every small RPC frame; RPC latency is what matters here.
    client.on('connect', () => client.setNoDelay(true));
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
    client.connect({
      host: target.host,
      port: target.port,
      username: target.username,
      privateKey: target.privateKey,
      ident: 'reach',
      algorithms: sshAlgorithms() as ssh2.Algorithms,
      readyTimeout: 20_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        const offered = blobFingerprint(key);
        if (pinned.length === 0) {
          pinKey(target.knownHostsPath, name, key).then(
            () => {
              target.log.info(
                { host: name, fingerprint: offered },
                'server host key pinned on first connect',
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
          `host key of ${name} changed: pinned ${expected}, server offered ${offered}. Refusing to connect.`,
          {
            details: { host: name, pinned: expected, offered },
            recoveryHint: `If the server key really changed, remove the ${name} line from ${target.knownHostsPath}.`,
          },
        );
        verify(false);
      },
    });
  });
}
