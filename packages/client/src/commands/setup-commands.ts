import { access, mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname } from 'node:path';
import { ReachError } from '@reach/protocol';
import { initConfig, type LoadedConfig, loadConfig } from '../config/load-config.ts';
import { resolveUpdateKey } from '../config/update-key.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { POSIX_PLATFORM } from '../platform/platform.ts';
import { generateKeyPair, publicKeyFingerprint } from '../tunnel/keys.ts';
import type { Command, CommandContext } from './command.ts';

/** `--init`: config directory, default config.yaml and the client's uuid. */
export const initCommand: Command = {
  flag: 'init',
  run: async ({ io, sources, flags }) => {
    const keyArg = flags['update-public-key'];
    const updateKey = typeof keyArg === 'string' ? await resolveUpdateKey(keyArg) : undefined;
    const r = await initConfig(sources, { updateKey });
    io.stdout(
      r.created
        ? `Created ${r.path}\nUUID: ${r.uuid}\n`
        : `Config already exists at ${r.path} (kept)\nUUID: ${r.uuid}\n`,
    );
    if (r.updateKey !== undefined) {
      io.stdout(
        `Updates must be signed by release key ${r.updateKey.keyId}${r.updateKey.written ? '' : ' (already set)'}\n`,
      );
    }
    io.stdout('Next: `reach --generate-key`, then authorize the key on the server.\n');
    return 0;
  },
};

/** The config when there is one, else the defaults (key generation works before --init). */
async function configOrDefaults(ctx: CommandContext): Promise<Pick<LoadedConfig, 'keyPath' | 'dir'>> {
  try {
    return await loadConfig(ctx.sources);
  } catch (err) {
    if (err instanceof ReachError && err.code === 'FILE_NOT_FOUND') {
      const created = await initConfig(ctx.sources);
      ctx.io.stderr(`No config yet: created ${created.path}\n`);
      return loadConfig(ctx.sources);
    }
    throw err;
  }
}

/** `--generate-key`: a new ed25519 pair; an existing one is kept unless `--force`. */
export const generateKeyCommand: Command = {
  flag: 'generate-key',
  run: async (ctx) => {
    const { keyPath } = await configOrDefaults(ctx);
    const exists = await access(keyPath).then(
      () => true,
      () => false,
    );
    if (exists && !ctx.force) {
      throw new ReachError(
        'INVALID_ARGUMENT',
        `a key already exists at ${keyPath}; pass --force to replace it`,
      );
    }
    const pair = generateKeyPair(`reach@${os.hostname()}`);
    const platform = ctx.sources.platform ?? POSIX_PLATFORM;
    const keyDir = dirname(keyPath);
    await mkdir(keyDir, { recursive: true, mode: 0o700 });
    // Windows: the directory first, so the temp file the private key is written to inherits an
    // owner-only ACL before it holds a byte; then the key itself (no-ops on POSIX: the modes do it).
    await platform.restrictToOwner(keyDir, 'dir');
    // Public half first: a crash in between never leaves a private key without its .pub.
    await writeFileAtomic(`${keyPath}.pub`, `${pair.publicKey}\n`, { mode: 0o644 });
    await writeFileAtomic(keyPath, pair.privateKey, { mode: 0o600 });
    await platform.restrictToOwner(keyPath, 'file');
    ctx.io.stdout(
      `Wrote ${keyPath} and ${keyPath}.pub\nFingerprint: ${publicKeyFingerprint(pair.publicKey)}\n` +
        `Public key:\n${pair.publicKey}\n` +
        `Authorize it on the server: reach-server authorize '${pair.publicKey}'\n`,
    );
    return 0;
  },
};

async function readPublicKey(keyPath: string): Promise<string> {
  try {
    return (await readFile(`${keyPath}.pub`, 'utf8')).trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ReachError(
        'SSH_KEY_NOT_FOUND',
        `no public key at ${keyPath}.pub: run \`reach --generate-key\``,
      );
    }
    throw err;
  }
}

/** `--show-key`: the public key line (what goes into the server's authorized_keys). */
export const showKeyCommand: Command = {
  flag: 'show-key',
  run: async (ctx) => {
    const { keyPath } = await loadConfig(ctx.sources);
    const line = await readPublicKey(keyPath);
    ctx.io.stdout(`${line}\n`);
    ctx.io.stderr(`Fingerprint: ${publicKeyFingerprint(line)}\n`);
    return 0;
  },
};

/** `--show-uuid`: this client's UUID. */
export const showUuidCommand: Command = {
  flag: 'show-uuid',
  run: async (ctx) => {
    const { config } = await loadConfig(ctx.sources);
    ctx.io.stdout(`${config.uuid}\n`);
    return 0;
  },
};
