import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { ReachError } from '@reach/protocol';
import { pathExists, runOrThrow, type SystemOps, writeFileReplacing } from '@reach/protocol/node';
import { CLIENT_UNIT_NAME, renderClientUnit, windowsTaskArgs } from './client-unit.ts';

export const WINDOWS_TASK_NAME = 'Reach';

export interface ClientServiceOptions {
  scope: 'user' | 'system';
  /** Enable and start it now; without, only the unit is written and the command to enable it printed. */
  start: boolean;
  configDir: string;
  command: readonly string[];
  homedir: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `process.platform`; injected so the Windows path is tested on Linux. */
  platform: NodeJS.Platform;
  /** The account a system unit runs as (default: the one that ran sudo, else the current one). */
  user?: string | undefined;
  /**
   * With `system`: write under this directory instead of `/` (an image or a role's staging root):
   * the unit goes to ROOT/etc/systemd/system and `systemctl --root` enables it; nothing is started.
   */
  root?: string | undefined;
}

export interface ClientServiceDeps {
  ops: SystemOps;
  out: (line: string) => void;
}

/** Where the unit file lives for this scope. */
export function clientUnitPath(o: Pick<ClientServiceOptions, 'scope' | 'homedir' | 'env' | 'root'>): string {
  if (o.scope === 'system') return join(o.root ?? '/', 'etc/systemd/system', CLIENT_UNIT_NAME);
  const config = o.env.XDG_CONFIG_HOME || join(o.homedir, '.config');
  return join(config, 'systemd', 'user', CLIENT_UNIT_NAME);
}

/**
 * `reach --install-service [--user|--system]`: a unit (or, on Windows, a logon task) that runs this
 * client with its config dir and restarts it forever. A failed enable removes the unit again.
 */
export async function installClientService(o: ClientServiceOptions, deps: ClientServiceDeps): Promise<void> {
  const { ops, out } = deps;
  if (o.platform === 'win32') {
    await runOrThrow(
      ops,
      'schtasks',
      windowsTaskArgs({ command: o.command, configDir: o.configDir, taskName: WINDOWS_TASK_NAME }),
    );
    if (o.start) await runOrThrow(ops, 'schtasks', ['/Run', '/TN', WINDOWS_TASK_NAME]);
    out(
      `scheduled task ${WINDOWS_TASK_NAME} runs reach at logon${o.start ? ' (started)' : ''}; remove: reach --uninstall-service`,
    );
    return;
  }
  const offline = o.scope === 'system' && o.root !== undefined && resolve(o.root) !== '/';
  if (o.scope === 'system' && !offline && !ops.isRoot()) {
    throw new ReachError(
      'PERMISSION_DENIED',
      'a system service needs root: sudo reach --install-service --system --config DIR (or use --user)',
    );
  }
  const unitPath = clientUnitPath(o);
  if (await pathExists(unitPath)) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `${unitPath} already exists: run reach --uninstall-service --${o.scope} first`,
    );
  }
  const user = o.scope === 'system' ? (o.user ?? o.env.SUDO_USER ?? o.env.USER) : undefined;
  const systemctl = o.scope === 'user' ? ['--user'] : [];
  await mkdir(join(unitPath, '..'), { recursive: true, mode: 0o755 });
  await writeFileReplacing(
    unitPath,
    renderClientUnit({ command: o.command, configDir: o.configDir, scope: o.scope, user }),
    0o644,
  );
  out(`wrote ${unitPath}`);
  const enable = `systemctl ${[...systemctl, 'daemon-reload'].join(' ')} && systemctl ${[...systemctl, 'enable', '--now', 'reach'].join(' ')}`;
  if (offline) {
    await runOrThrow(ops, 'systemctl', [`--root=${resolve(o.root ?? '/')}`, 'enable', CLIENT_UNIT_NAME]);
    out(`enabled under ${o.root} (starts when that system boots)`);
  } else if (!o.start) {
    out(`enable and start it: ${enable}`);
  } else {
    try {
      await runOrThrow(ops, 'systemctl', [...systemctl, 'daemon-reload']);
      await runOrThrow(ops, 'systemctl', [...systemctl, 'enable', '--now', CLIENT_UNIT_NAME]);
    } catch (err) {
      await rm(unitPath, { force: true });
      throw new ReachError(
        'COMMAND_FAILED',
        `could not enable the service, so ${unitPath} was removed again: ${(err as Error).message}` +
          ' (no systemd here? --no-start only writes the unit)',
      );
    }
    out(`started: systemctl ${[...systemctl, 'status', 'reach'].join(' ')}`);
  }
  if (o.scope === 'user') {
    const who = o.env.USER ?? os.userInfo().username;
    const linger = await ops.run('loginctl', ['show-user', who, '--property=Linger']);
    if (!linger.stdout.includes('Linger=yes')) {
      out(`to start it at boot without a login session: sudo loginctl enable-linger ${who}`);
    }
  }
}

/** `reach --uninstall-service`: stops, disables and removes what --install-service made. */
export async function uninstallClientService(
  o: ClientServiceOptions,
  deps: ClientServiceDeps,
): Promise<void> {
  const { ops, out } = deps;
  if (o.platform === 'win32') {
    await runOrThrow(ops, 'schtasks', ['/Delete', '/TN', WINDOWS_TASK_NAME, '/F']);
    out(`removed scheduled task ${WINDOWS_TASK_NAME}`);
    return;
  }
  const offline = o.scope === 'system' && o.root !== undefined && resolve(o.root) !== '/';
  if (o.scope === 'system' && !offline && !ops.isRoot()) {
    throw new ReachError('PERMISSION_DENIED', 'removing a system service needs root');
  }
  const unitPath = clientUnitPath(o);
  if (!(await pathExists(unitPath))) {
    out(`nothing to remove: no ${unitPath}`);
    return;
  }
  const systemctl = o.scope === 'user' ? ['--user'] : [];
  // Not loaded (or no systemd): nothing to stop; the file still goes.
  if (offline) {
    await ops.run('systemctl', [`--root=${resolve(o.root ?? '/')}`, 'disable', CLIENT_UNIT_NAME]);
    await rm(unitPath, { force: true });
  } else {
    await ops.run('systemctl', [...systemctl, 'disable', '--now', CLIENT_UNIT_NAME]);
    await rm(unitPath, { force: true });
    await ops.run('systemctl', [...systemctl, 'daemon-reload']);
  }
  out(`removed ${unitPath}`);
}
