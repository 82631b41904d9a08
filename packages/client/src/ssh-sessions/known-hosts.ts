import { readFile } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { blobFingerprint, knownHostName } from '../tunnel/known-hosts.ts';
import type { PresentedHostKey } from '../tunnel/onward-connect.ts';

/** File name of the onward hosts' keys inside the client config directory. */
export const SSH_KNOWN_HOSTS_FILE = 'ssh_known_hosts';

/** What `check` did: the key was already recorded, recorded on first use, or replaced on request. */
export type HostKeyOutcome = 'known' | 'added' | 'replaced';

interface Entry {
  hosts: string[];
  keyType: string;
  keyBase64: string;
}

function parseLine(line: string): Entry | undefined {
  const trimmed = line.trim();
  // Hashed names (|1|…) and @cert-authority / @revoked markers are not written by Reach; skip them.
  if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('@') || trimmed.startsWith('|')) {
    return undefined;
  }
  const [hosts, keyType, keyBase64] = trimmed.split(/\s+/);
  if (hosts === undefined || keyType === undefined || keyBase64 === undefined) return undefined;
  return { hosts: hosts.toLowerCase().split(','), keyType, keyBase64 };
}

/**
 * Trust-on-first-use store of the onward target hosts' keys, in OpenSSH known_hosts format
 * (`[host]:port type base64`). A key that differs from the recorded ones is refused with
 * SSH_HOST_KEY_MISMATCH unless the caller asks to accept it, which replaces the recorded keys.
 * Writes are atomic and serialised within this process.
 */
export class KnownHosts {
  readonly path: string;
  #writes: Promise<unknown> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  async check(
    host: string,
    port: number,
    key: PresentedHostKey,
    acceptNew: boolean,
  ): Promise<HostKeyOutcome> {
    const run = this.#writes.then(() => this.#check(host, port, key, acceptNew));
    this.#writes = run.catch(() => undefined);
    return await run;
  }

  async #check(
    host: string,
    port: number,
    key: PresentedHostKey,
    acceptNew: boolean,
  ): Promise<HostKeyOutcome> {
    const name = knownHostName(host, port);
    const text = await this.#read();
    const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    const recorded = lines.map(parseLine).filter((e): e is Entry => e?.hosts.includes(name) === true);
    if (recorded.some((e) => e.keyType === key.keyType && e.keyBase64 === key.keyBase64)) return 'known';
    const newLine = `${name} ${key.keyType} ${key.keyBase64}`;
    if (recorded.length === 0) {
      await this.#write([...lines, newLine]);
      return 'added';
    }
    if (!acceptNew) {
      const sameType = recorded.find((e) => e.keyType === key.keyType) ?? recorded[0]!;
      throw new ReachError('SSH_HOST_KEY_MISMATCH', `host key of ${name} changed`, {
        details: {
          host,
          port,
          known_fingerprint: blobFingerprint(Buffer.from(sameType.keyBase64, 'base64')),
          known_key_type: sameType.keyType,
          presented_fingerprint: key.fingerprint,
          presented_key_type: key.keyType,
          known_hosts_file: this.path,
        },
        recoveryHint:
          'verify the new key out of band; if the change is expected, open again with accept_new_host_key: true',
      });
    }
    const kept: string[] = [];
    for (const line of lines) {
      const entry = parseLine(line);
      if (entry === undefined || !entry.hosts.includes(name)) {
        kept.push(line);
        continue;
      }
      const others = entry.hosts.filter((h) => h !== name);
      if (others.length > 0) kept.push(`${others.join(',')} ${entry.keyType} ${entry.keyBase64}`);
    }
    await this.#write([...kept, newLine]);
    return 'replaced';
  }

  async #read(): Promise<string> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  }

  async #write(lines: string[]): Promise<void> {
    await writeFileAtomic(this.path, `${lines.join('\n')}\n`, { mode: 0o600 });
  }
}
