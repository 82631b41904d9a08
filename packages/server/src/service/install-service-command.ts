import { parseArgs } from 'node:util';
import { ReachError } from '@reach/protocol';
import { realSystemOps, type SystemOps, serviceCommand } from '@reach/protocol/node';
import { INSTALL_DEFAULTS, installServerService, uninstallServerService } from './install-service.ts';

export const INSTALL_SERVICE_USAGE = `usage: reach-server install-service [--user NAME] [--data-dir DIR] [--environment-file FILE]
         [--exec "PROGRAM [ARGS]"] [--no-start] [--force] [--webhook-receiver [--receiver-port N]] [--root DIR] [--unit-dir DIR]
       reach-server install-service --uninstall [--purge] [--root DIR] [--unit-dir DIR]
Installs reach-mcp.service (systemd): system user ${INSTALL_DEFAULTS.user}, data in ${INSTALL_DEFAULTS.dataDir},
settings in ${INSTALL_DEFAULTS.envFile}. --root writes the same files under DIR (systemctl --root enables them; nothing is started).`;

/** `reach-server install-service …`; returns the exit code. Errors are ReachErrors for bin.ts to print. */
export async function installServiceCommand(
  argv: readonly string[],
  deps: { ops?: SystemOps; out?: (line: string) => void } = {},
): Promise<number> {
  const out = deps.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        user: { type: 'string' },
        'data-dir': { type: 'string' },
        // Not --env-file: node itself takes that flag even after the script name.
        'environment-file': { type: 'string' },
        exec: { type: 'string' },
        'no-start': { type: 'boolean' },
        force: { type: 'boolean' },
        'webhook-receiver': { type: 'boolean' },
        'receiver-port': { type: 'string' },
        root: { type: 'string' },
        'unit-dir': { type: 'string' },
        uninstall: { type: 'boolean' },
        purge: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new ReachError('INVALID_ARGUMENT', `${(err as Error).message}\n${INSTALL_SERVICE_USAGE}`);
  }
  if (values.help) {
    out(INSTALL_SERVICE_USAGE);
    return 0;
  }
  const str = (k: string, d: string): string => (typeof values[k] === 'string' ? (values[k] as string) : d);
  const root = str('root', INSTALL_DEFAULTS.root);
  const dataDir = str('data-dir', INSTALL_DEFAULTS.dataDir);
  const envFile = str('environment-file', INSTALL_DEFAULTS.envFile);
  for (const [flag, p] of [
    ['--data-dir', dataDir],
    ['--environment-file', envFile],
  ] as const) {
    if (!p.startsWith('/')) throw new ReachError('INVALID_ARGUMENT', `${flag} must be an absolute path`);
  }
  const ops = deps.ops ?? realSystemOps;
  if (values.uninstall) {
    await uninstallServerService(
      {
        root,
        envFile,
        dataDir,
        purge: values.purge === true,
        unitDir: typeof values['unit-dir'] === 'string' ? values['unit-dir'] : undefined,
      },
      { ops, out },
    );
    return 0;
  }
  const receiverPort = values['webhook-receiver'] ? Number(str('receiver-port', '9090')) : undefined;
  if (
    receiverPort !== undefined &&
    !(Number.isInteger(receiverPort) && receiverPort > 0 && receiverPort < 65_536)
  ) {
    throw new ReachError('INVALID_ARGUMENT', '--receiver-port must be an integer 1-65535');
  }
  const exec = typeof values.exec === 'string' ? values.exec.split(/\s+/).filter(Boolean) : serviceCommand();
  const user = str('user', INSTALL_DEFAULTS.user);
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user))
    throw new ReachError('INVALID_ARGUMENT', `not a user name: ${user}`);
  await installServerService(
    {
      root,
      command: exec,
      user,
      dataDir,
      envFile,
      start: values['no-start'] !== true,
      force: values.force === true,
      receiverPort,
      unitDir: typeof values['unit-dir'] === 'string' ? values['unit-dir'] : undefined,
    },
    { ops, out },
  );
  return 0;
}
