import { parseArgs } from 'node:util';
import { RELEASE_VERSION, ReachError } from '@reach/protocol';
import { z } from 'zod';
import { loadServerConfig, type ServerConfig } from '../config/server-config.ts';
import { ReleaseChannelSchema, setChannel } from './release-channels.ts';
import { type InstallResult, installRelease } from './release-install.ts';
import { formatListing, listReleases } from './release-list.ts';
import { setPin } from './release-pins.ts';
import { loadReleasePublicKey } from './release-public-key.ts';
import { readSecretKeyFile, signReleaseDir } from './release-sign.ts';
import { releasesDir } from './releases-dir.ts';

export interface ReleaseCommandIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const SHARED = '[--data-dir D] [--releases-dir D]';
export const RELEASE_USAGE = [
  `reach-server release install DIR [--force] ${SHARED}`,
  `reach-server release publish DIR [--channel stable|beta] [--force] [--release-public-key FILE] ${SHARED}`,
  `reach-server release list [--json] [--release-public-key FILE] ${SHARED}`,
  'reach-server release sign DIR --sign-key FILE',
  `reach-server release pin (--client UUID | --tag TAG) --version V ${SHARED}`,
  `reach-server release unpin (--client UUID | --tag TAG) ${SHARED}`,
] as const;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  channel: { type: 'string' },
  'sign-key': { type: 'string' },
  'data-dir': { type: 'string' },
  'releases-dir': { type: 'string' },
  'release-public-key': { type: 'string' },
  client: { type: 'string' },
  tag: { type: 'string' },
  version: { type: 'string' },
} as const;
type Values = ReturnType<typeof parse>['values'];

/** Which flags each subcommand takes beyond the shared config ones. */
const ALLOWED: Record<string, readonly (keyof typeof OPTIONS)[]> = {
  install: ['force'],
  publish: ['force', 'channel', 'release-public-key'],
  list: ['json', 'release-public-key'],
  sign: ['sign-key'],
  pin: ['client', 'tag', 'version'],
  unpin: ['client', 'tag'],
};

/** `reach-server release install|publish|list|sign …` (RELEASE_USAGE). */
export async function releaseCommand(argv: string[], io: ReleaseCommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  if (parsed.values.help === true) {
    io.stdout.write(`usage:\n${RELEASE_USAGE.map((u) => `  ${u}\n`).join('')}`);
    return 0;
  }
  const [sub = '', ...operands] = parsed.positionals;
  const allowed = ALLOWED[sub];
  const wantsDir = sub !== 'list' && sub !== 'pin' && sub !== 'unpin';
  if (allowed === undefined || operands.length !== (wantsDir ? 1 : 0)) throw usageError();
  for (const flag of Object.keys(parsed.values) as (keyof typeof OPTIONS)[]) {
    if (flag !== 'data-dir' && flag !== 'releases-dir' && !allowed.includes(flag)) {
      throw usageError(`release ${sub} takes no --${flag}`);
    }
  }
  const dir = operands[0] ?? '';
  const config = configFrom(parsed.values, io.env);
  try {
    if (sub === 'sign') return await sign(dir, parsed.values, io);
    if (sub === 'list') return await list(config, parsed.values, io);
    if (sub === 'pin' || sub === 'unpin') return await pin(sub, config, parsed.values, io);
    return await install(sub, dir, config, parsed.values, io);
  } catch (err) {
    // A missing, damaged or badly signed release is the operator's to fix: one line, not a stack.
    if (err instanceof ReachError && err.code !== 'INTERNAL_ERROR' && err.code !== 'INVALID_ARGUMENT') {
      io.stderr.write(`reach-server: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function install(
  sub: string,
  from: string,
  config: ServerConfig,
  values: Values,
  io: ReleaseCommandIo,
): Promise<number> {
  const target = releasesDir(config);
  let r: InstallResult;
  if (sub === 'install') {
    r = await installRelease(from, target, { force: values.force === true });
  } else {
    const channel = ReleaseChannelSchema.safeParse(values.channel ?? 'stable');
    if (!channel.success) throw usageError(`--channel is stable or beta, not ${values.channel}`);
    const configured = await loadReleasePublicKey(config);
    if (configured === undefined) {
      throw new ReachError(
        'FILE_NOT_FOUND',
        `no release public key to check the signature against: put it at ${config.dataDir}/release.pub or pass --release-public-key FILE`,
      );
    }
    r = await installRelease(from, target, {
      force: values.force === true,
      publicKey: configured.key,
      keepIdentical: true,
    });
    const before = await setChannel(target, channel.data, r.version);
    io.stdout.write(
      `${r.unchanged ? 'already published' : r.replaced ? 'republished' : 'published'} release ${r.version} ` +
        `(${r.artifacts} artifacts, signed by ${r.signedBy}) in ${r.path}\n` +
        `channel ${channel.data}: ${r.version}${before !== undefined && before !== r.version ? ` (was ${before})` : ''}\n`,
    );
    return 0;
  }
  io.stdout.write(
    `${r.replaced ? 'replaced' : 'installed'} release ${r.version} (${r.artifacts} artifacts) in ${r.path}\n` +
      `served at /latest/<name> and /releases/${r.version}/<name>\n`,
  );
  return 0;
}

async function list(config: ServerConfig, values: Values, io: ReleaseCommandIo): Promise<number> {
  const configured = await loadReleasePublicKey(config);
  const rows = await listReleases(releasesDir(config), configured?.key);
  io.stdout.write(values.json === true ? `${JSON.stringify(rows, null, 2)}\n` : formatListing(rows));
  return 0;
}

/** `release pin|unpin`: holds a client or a tag at a version rollouts of others skip (release-pins.ts). */
async function pin(
  sub: 'pin' | 'unpin',
  config: ServerConfig,
  values: Values,
  io: ReleaseCommandIo,
): Promise<number> {
  const { client, tag, version } = values;
  if ((client === undefined) === (tag === undefined))
    throw usageError(`release ${sub} needs --client or --tag`);
  if (sub === 'pin' && (version === undefined || !RELEASE_VERSION.test(version))) {
    throw usageError('release pin needs --version X.Y.Z');
  }
  const target =
    client === undefined
      ? { kind: 'tags' as const, key: tag ?? '' }
      : { kind: 'clients' as const, key: client };
  const what = client === undefined ? `tag ${tag}` : `client ${client}`;
  let before: string | undefined;
  try {
    before = await setPin(releasesDir(config), target, sub === 'pin' ? (version ?? null) : null);
  } catch (err) {
    if (err instanceof z.ZodError) throw usageError(`not a client UUID or tag: ${target.key}`);
    throw err;
  }
  io.stdout.write(
    sub === 'pin'
      ? `${what} pinned to ${version}${before !== undefined && before !== version ? ` (was ${before})` : ''}\n`
      : `${what} ${before === undefined ? 'was not pinned' : `unpinned (was ${before})`}\n`,
  );
  return 0;
}

async function sign(dir: string, values: Values, io: ReleaseCommandIo): Promise<number> {
  const keyFile = values['sign-key'];
  if (keyFile === undefined) throw usageError('release sign needs --sign-key FILE');
  const r = await signReleaseDir(dir, await readSecretKeyFile(keyFile));
  io.stdout.write(`signed release ${r.version} with key ${r.keyId}: ${r.path}\n`);
  return 0;
}

/** The shared options go through the server's config loader (flags < env < defaults, one place). */
function configFrom(values: Values, env: ReleaseCommandIo['env']): ServerConfig {
  const flags = (['data-dir', 'releases-dir', 'release-public-key'] as const).flatMap((f) =>
    values[f] === undefined ? [] : [`--${f}`, values[f]],
  );
  return loadServerConfig(flags, env).config;
}

function usageError(first?: string): ReachError {
  const lines = [...(first ? [first] : []), 'usage:', ...RELEASE_USAGE.map((u) => `  ${u}`)];
  return new ReachError('INVALID_ARGUMENT', lines.join('\n'));
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}
