import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ReachError } from '@reach/protocol';
import { writeFileReplacing } from '@reach/protocol/node';
import type { ReleaseCommandIo } from './release-command.ts';
import { generateReleaseKey } from './release-key.ts';
import { RELEASE_PUBLIC_KEY_FILE } from './release-public-key.ts';

export const RELEASE_SECRET_KEY_FILE = 'release.key';

const USAGE = 'usage: reach-server release-key generate --out DIR [--force]';

/**
 * `reach-server release-key generate --out DIR`: a new release key pair in minisign's format,
 * `DIR/release.key` (unencrypted, 0600: keep it offline) and `DIR/release.pub`.
 */
export async function releaseKeyCommand(argv: string[], io: ReleaseCommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', `${(err as Error).message}\n${USAGE}`);
  }
  if (parsed.values.help === true) {
    io.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const out = parsed.values.out;
  if (parsed.positionals.length !== 1 || parsed.positionals[0] !== 'generate' || out === undefined) {
    throw new ReachError('INVALID_ARGUMENT', USAGE);
  }
  const key = generateReleaseKey();
  await mkdir(out, { recursive: true, mode: 0o700 });
  const secretPath = join(out, RELEASE_SECRET_KEY_FILE);
  const publicPath = join(out, RELEASE_PUBLIC_KEY_FILE);
  // Neither file is written unless both can be: an existing pair is never half-replaced.
  if (parsed.values.force !== true) {
    for (const p of [secretPath, publicPath]) {
      const exists = await open(p, 'r').then(
        async (h) => {
          await h.close();
          return true;
        },
        () => false,
      );
      if (exists)
        throw new ReachError('INVALID_ARGUMENT', `${p} exists; pass --force to replace the key pair`);
    }
  }
  // A temporary file created 0600, fsynced and renamed: the secret is never readable by others,
  // not even while an old pair is replaced.
  await writeFileReplacing(secretPath, key.secretText, 0o600);
  await writeFileReplacing(publicPath, key.publicText, 0o644);
  io.stdout.write(
    `release key ${key.keyId}\n` +
      `  secret: ${secretPath} (unencrypted, 0600: keep it offline; it signs what every client runs)\n` +
      `  public: ${publicPath}\n` +
      `sign:   npm run release -- --sign-key ${secretPath}\n` +
      `server: copy ${RELEASE_PUBLIC_KEY_FILE} to <data-dir>/${RELEASE_PUBLIC_KEY_FILE} (or pass --release-public-key)\n` +
      `check:  minisign -V -p ${publicPath} -m release.json\n`,
  );
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: { out: { type: 'string' }, force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
}
