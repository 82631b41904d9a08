import type ssh2 from 'ssh2';
import { boundedText } from '../log/bounded-text.ts';
import type { Logger } from '../log/logger.ts';
import type { AuthorizedKeys } from './authorized-keys.ts';
import { fingerprintOfBlob, publicKeyLine } from './fingerprint.ts';
import type { LinkIdentity } from './link.ts';

/** Failed authentication attempts (each a refused key or method) before the connection is dropped. */
const MAX_AUTH_ATTEMPTS = 10;

/**
 * Answers one connection's authentication requests: publickey only, against authorized_keys; the
 * connection is dropped after MAX_AUTH_ATTEMPTS refusals. Returns a getter for the identity the
 * connection proved (undefined until it has).
 */
export function publicKeyAuth(
  conn: ssh2.Connection,
  authorizedKeys: AuthorizedKeys,
  log: Logger,
): () => LinkIdentity | undefined {
  let attempts = 0;
  let identity: LinkIdentity | undefined;
  conn.on('authentication', (ctx) => {
    // The user name and key algorithm are whatever the peer sent: bounded before they are logged.
    const user = boundedText(ctx.username);
    const refuse = (reason: string, key?: { algo: string; fingerprint: string }): void => {
      attempts++;
      // warn, with the offered key's fingerprint: how an operator spots a client that is not
      // authorized yet (and what to pass to `reach-server authorize`).
      log.warn({ method: ctx.method, user, reason, ...key }, 'authentication refused');
      if (attempts >= MAX_AUTH_ATTEMPTS) {
        ctx.reject();
        conn.end();
        return;
      }
      ctx.reject(['publickey']);
    };
    if (ctx.method !== 'publickey') {
      // RFC 4252 §5.2: "none" is how a client learns the allowed methods; it is not an attempt.
      if (ctx.method === 'none') ctx.reject(['publickey']);
      else refuse('only publickey authentication is accepted');
      return;
    }
    const offered = ctx.key;
    authorizedKeys.find(offered.data).then(
      (key) => {
        if (!key || key.type !== offered.algo.replace(/^rsa-sha2-(256|512)$/, 'ssh-rsa')) {
          refuse('key not in authorized_keys', {
            algo: boundedText(offered.algo),
            fingerprint: fingerprintOfBlob(offered.data),
          });
          return;
        }
        if (ctx.signature === undefined || ctx.blob === undefined) {
          ctx.accept(); // RFC 4252 §7: the key would be acceptable; the client signs next.
          return;
        }
        if (!key.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) {
          refuse('bad signature', { algo: key.type, fingerprint: key.fingerprint });
          return;
        }
        identity = {
          fingerprint: key.fingerprint,
          publicKey: publicKeyLine(key.type, key.blob),
          username: user,
        };
        ctx.accept();
      },
      (err: unknown) => {
        log.error({ err }, 'authorized_keys lookup failed');
        ctx.reject(['publickey']);
      },
    );
  });

  return () => identity;
}
