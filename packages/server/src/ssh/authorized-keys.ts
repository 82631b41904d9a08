import { readFile, stat } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
import ssh2 from 'ssh2';
import type { Logger } from '../log/logger.ts';
import { fingerprintOfBlob } from './fingerprint.ts';

export const AUTHORIZED_KEYS_FILE = 'authorized_keys';

/** One accepted client key. */
export interface AuthorizedKey {
  type: string;
  /** The public key blob (RFC 4253 §6.6). */
  blob: Buffer;
  fingerprint: string;
  comment: string;
  verify(data: Buffer, signature: Buffer, hashAlgo?: string): boolean;
}

const KEY_TYPE =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com)$/;

/**
 * Parses one authorized_keys line (sshd(8) AUTHORIZED_KEYS FILE FORMAT): optional options, key
 * type, base64 blob, optional comment. Returns undefined for blank and comment lines; throws
 * INVALID_ARGUMENT for a line that is neither.
 */
export function parseAuthorizedKeyLine(line: string): AuthorizedKey | undefined {
  const trimmed = line.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  // Options may contain quoted spaces; the key type is the first token that names a key type.
  const tokens = trimmed.match(/(?:[^\s"]+|"[^"]*")+/g) ?? [];
  const at = tokens.findIndex((t) => KEY_TYPE.test(t));
  const type = at >= 0 ? tokens[at] : undefined;
  const b64 = at >= 0 ? tokens[at + 1] : undefined;
  if (type === undefined || b64 === undefined) {
    throw new ReachError('INVALID_ARGUMENT', 'not an OpenSSH public key line');
  }
  const parsed = ssh2.utils.parseKey(`${type} ${b64}`);
  if (parsed instanceof Error || Array.isArray(parsed)) {
    throw new ReachError('INVALID_ARGUMENT', `unreadable ${type} public key`);
  }
  const blob = parsed.getPublicSSH();
  return {
    type: parsed.type,
    blob,
    fingerprint: fingerprintOfBlob(blob),
    comment: tokens.slice(at + 2).join(' '),
    verify: (data, signature, hashAlgo) => parsed.verify(data, signature, hashAlgo),
  };
}

/** Parses a whole file; unreadable lines are skipped and reported through `onBadLine`. */
export function parseAuthorizedKeys(text: string, onBadLine?: (lineNo: number) => void): AuthorizedKey[] {
  const out: AuthorizedKey[] = [];
  text.split('\n').forEach((line, i) => {
    try {
      const key = parseAuthorizedKeyLine(line);
      if (key) out.push(key);
    } catch {
      onBadLine?.(i + 1);
    }
  });
  return out;
}

/**
 * The server's `authorized_keys`, re-read whenever its mtime or size changes (checked on every
 * lookup, i.e. every authentication attempt, so an appended key works without a restart).
 */
export class AuthorizedKeys {
  readonly #path: string;
  readonly #log: Logger;
  #stamp = '';
  #byBlob = new Map<string, AuthorizedKey>();

  constructor(path: string, log: Logger) {
    this.#path = path;
    this.#log = log;
  }

  /** The authorized key with this blob, or undefined. */
  async find(blob: Buffer): Promise<AuthorizedKey | undefined> {
    await this.#refresh();
    return this.#byBlob.get(blob.toString('base64'));
  }

  async #refresh(): Promise<void> {
    let stamp: string;
    try {
      const s = await stat(this.#path);
      stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      stamp = 'missing';
    }
    if (stamp === this.#stamp) return;
    const text = stamp === 'missing' ? '' : await readFile(this.#path, 'utf8').catch(() => '');
    const keys = parseAuthorizedKeys(text, (lineNo) =>
      this.#log.warn({ file: this.#path, line: lineNo }, 'ignoring unreadable authorized_keys line'),
    );
    this.#byBlob = new Map(keys.map((k) => [k.blob.toString('base64'), k]));
    this.#stamp = stamp;
    this.#log.info({ keys: keys.length }, 'authorized_keys loaded');
  }
}
