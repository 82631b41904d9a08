import { parseArgs } from 'node:util';
import { ReachError } from '@reach/protocol';
import { loadServerConfig } from '../config/server-config.ts';
import { installRelease } from './release-install.ts';
import { releasesDir } from './releases-dir.ts';

export interface ReleaseCommandIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** `reach-server release install DIR [--force] [--data-dir D] [--releases-dir D]`. */
export async function releaseCommand(argv: string[], io: ReleaseCommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', (err as Error).message);
  }
  const [sub, from, ...extra] = parsed.positionals;
  if (sub !== 'install' || from === undefined || extra.length > 0) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      'usage: reach-server release install DIR [--force] [--data-dir D] [--releases-dir D]',
    );
  }
  const flags = [
    ...(parsed.values['data-dir'] === undefined ? [] : ['--data-dir', parsed.values['data-dir']]),
    ...(parsed.values['releases-dir'] === undefined ? [] : ['--releases-dir', parsed.values['releases-dir']]),
  ];
  const { config } = loadServerConfig(flags, io.env);
  let r: Awaited<ReturnType<typeof installRelease>>;
  try {
    r = await installRelease(from, releasesDir(config), parsed.values.force === true);
  } catch (err) {
    // A missing or damaged release is the operator's to fix: one line, not a stack.
    if (err instanceof ReachError && err.code !== 'INTERNAL_ERROR' && err.code !== 'INVALID_ARGUMENT') {
      io.stderr.write(`reach-server: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  io.stdout.write(
    `${r.replaced ? 'replaced' : 'installed'} release ${r.version} (${r.artifacts} artifacts) in ${r.path}\n` +
      `served at /latest/<name> and /releases/${r.version}/<name>\n`,
  );
  return 0;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      force: { type: 'boolean' },
      'data-dir': { type: 'string' },
      'releases-dir': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
}
