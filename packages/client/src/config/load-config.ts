import { randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir as osHomedir } from 'node:os';
import { ReachError } from '@reach/protocol';
import { Document, parseDocument } from 'yaml';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { type Platform, POSIX_PLATFORM } from '../platform/platform.ts';
import { configFromEnv, readEnvVar } from './env.ts';
import { ClientConfig, type ClientConfigInput, defaultConfigFile } from './schema.ts';
import type { UpdateKey } from './update-key.ts';

type Env = Readonly<Record<string, string | undefined>>;

export const CONFIG_FILE = 'config.yaml';

export interface ConfigSources {
  /** The process environment (the only place it is read). */
  env: Env;
  /** `--config DIR`. */
  configDir?: string | undefined;
  /** Values from command-line flags; they win over everything else. */
  flags?: Partial<ClientConfigInput> | undefined;
  /** Told once per load about deprecated variables in use. */
  warn?: ((message: string) => void) | undefined;
  homedir?: string | undefined;
  /** Where the default config directory is and how paths join (POSIX when absent). */
  platform?: Platform | undefined;
}

export interface LoadedConfig {
  dir: string;
  path: string;
  config: ClientConfig & { uuid: string };
  /** key_file resolved to an absolute path. */
  keyPath: string;
}

/** `--config DIR`, else REACH_HOME (ETPHONEHOME_HOME), else ~/.reach (Windows: %USERPROFILE%\.reach). */
export function resolveConfigDir(sources: ConfigSources): string {
  const onLegacy = legacyCollector(sources.warn);
  const home = sources.homedir ?? osHomedir();
  const platform = sources.platform ?? POSIX_PLATFORM;
  const dir =
    sources.configDir ??
    readEnvVar(sources.env, 'HOME', onLegacy.note) ??
    platform.defaultConfigDir(sources.env, home);
  onLegacy.flush();
  return platform.resolveDir(expandHome(dir, home, platform));
}

/** Reads config.yaml if present; null when the file does not exist. */
async function readConfigDocument(path: string): Promise<Document | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `${path}: ${doc.errors[0]?.message.split('\n')[0] ?? 'invalid YAML'}`,
    );
  }
  const value: unknown = doc.toJS();
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new ReachError('INVALID_ARGUMENT', `${path}: expected a mapping of keys to values`);
  }
  return doc;
}

/**
 * Merges defaults < config.yaml < environment < flags and validates the result. The config file
 * must exist (`reach --init` creates it); a file without a valid uuid gets one, written back once.
 */
export async function loadConfig(sources: ConfigSources): Promise<LoadedConfig> {
  const dir = resolveConfigDir(sources);
  const platform = sources.platform ?? POSIX_PLATFORM;
  const path = platform.join(dir, CONFIG_FILE);
  const doc = await readConfigDocument(path);
  if (!doc) {
    throw new ReachError(
      'FILE_NOT_FOUND',
      `no config at ${path}: run \`reach --init\` then \`reach --generate-key\``,
    );
  }
  const fileValues = (doc.toJS() ?? {}) as Record<string, unknown>;
  if (!z.uuid().safeParse(fileValues.uuid).success) {
    fileValues.uuid = randomUUID();
    doc.set('uuid', fileValues.uuid);
    await writeFileAtomic(path, String(doc), { mode: 0o600 });
  }
  const onLegacy = legacyCollector(sources.warn);
  const envValues = configFromEnv(sources.env, onLegacy.note);
  onLegacy.flush();
  const merged = { ...fileValues, ...envValues, ...definedOnly(sources.flags ?? {}) };
  const parsed = ClientConfig.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'config';
    throw new ReachError('INVALID_ARGUMENT', `invalid configuration (${path}): ${where}: ${issue?.message}`);
  }
  const config = parsed.data as ClientConfig & { uuid: string };
  const home = sources.homedir ?? osHomedir();
  const keyFile = expandHome(config.key_file, home, platform);
  return {
    dir,
    path,
    config,
    keyPath: platform.isAbsolute(keyFile) ? keyFile : platform.join(dir, keyFile),
  };
}

export interface InitResult {
  dir: string;
  path: string;
  created: boolean;
  uuid: string;
  /** The update key now in config.yaml, and whether this run wrote it. */
  updateKey?: UpdateKey & { written: boolean };
}

export interface InitOptions {
  /** `--update-public-key`: pinned into config.yaml (a new one, or an existing one without a key). */
  updateKey?: UpdateKey | undefined;
}

/**
 * Creates the config directory (0700) and a default config.yaml with a new uuid, unless present.
 * An update key is written into a new file, or into an existing one that has none; an existing
 * file that trusts another key keeps it and the run fails: the trusted key changes only by hand.
 */
export async function initConfig(sources: ConfigSources, options: InitOptions = {}): Promise<InitResult> {
  const dir = resolveConfigDir(sources);
  const platform = sources.platform ?? POSIX_PLATFORM;
  const path = platform.join(dir, CONFIG_FILE);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Windows: mode means nothing there; the directory's ACL is what keeps the key to its owner.
  await platform.restrictToOwner(dir, 'dir');
  const key = options.updateKey;
  const existing = await readConfigDocument(path);
  if (existing) {
    let written = false;
    if (key !== undefined) {
      const current: unknown = existing.get('update_public_key');
      if (typeof current === 'string' && current !== '' && current !== key.line) {
        throw new ReachError(
          'INVALID_ARGUMENT',
          `${path} already trusts another update key (${current}); edit update_public_key there to change it`,
        );
      }
      if (current !== key.line) {
        existing.set('update_public_key', key.line);
        await writeFileAtomic(path, String(existing), { mode: 0o600 });
        written = true;
      }
    }
    const loaded = await loadConfig(sources);
    return {
      dir,
      path,
      created: false,
      uuid: loaded.config.uuid,
      ...(key === undefined ? {} : { updateKey: { ...key, written } }),
    };
  }
  const uuid = randomUUID();
  const doc = new Document({
    ...defaultConfigFile(uuid),
    ...(key === undefined ? {} : { update_public_key: key.line }),
  });
  doc.commentBefore = ' Reach client configuration. Environment REACH_* and command-line flags override it.';
  await writeFileAtomic(path, String(doc), { mode: 0o600 });
  return {
    dir,
    path,
    created: true,
    uuid,
    ...(key === undefined ? {} : { updateKey: { ...key, written: true } }),
  };
}

function expandHome(p: string, home: string, platform: Platform = POSIX_PLATFORM): string {
  if (p === '~') return home;
  if (p.startsWith('~/') || (platform.name === 'win32' && p.startsWith('~\\'))) {
    return platform.join(home, p.slice(2));
  }
  return p;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function legacyCollector(warn: ((message: string) => void) | undefined) {
  const used = new Map<string, string>();
  return {
    note: (legacy: string, current: string) => {
      used.set(legacy, current);
    },
    flush: () => {
      if (used.size === 0 || !warn) return;
      const pairs = [...used].map(([l, c]) => `${l} (use ${c})`).join(', ');
      warn(`deprecated environment variables in use: ${pairs}`);
    },
  };
}
