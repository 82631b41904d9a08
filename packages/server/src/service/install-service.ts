import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { lstat, mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ReachError } from '@reach/protocol';
import { pathExists, runOrThrow, type SystemOps, writeFileReplacing } from '@reach/protocol/node';
import { loadServerConfig } from '../config/server-config.ts';
import { parseEnvFile, secretsIn } from './env-file.ts';
import { renderServerEnvTemplate } from './server-env-template.ts';
import {
  RECEIVER_UNIT_NAME,
  renderReceiverUnit,
  renderServerUnit,
  SERVER_UNIT_NAME,
  SERVICE_DATA_DIR,
  SERVICE_ENV_FILE,
  SERVICE_USER,
} from './server-unit.ts';

export interface InstallServiceOptions {
  /** `/` on a real machine; another directory writes the same tree under it (images, tests). */
  root: string;
  /** The server's command line before its flags. */
  command: readonly string[];
  user: string;
  dataDir: string;
  envFile: string;
  /** Start it now (`systemctl enable --now`); otherwise only enable it. */
  start: boolean;
  /** Rewrite a unit that is already there. */
  force: boolean;
  /** Also install the webhook test receiver's unit, on this port. */
  receiverPort?: number | undefined;
  /** Where the units go (under `root`); default /etc/systemd/system. */
  unitDir?: string | undefined;
  /** Refuse ports in use (default: on the machine itself, not in another root). */
  checkPorts?: boolean | undefined;
}

export interface InstallDeps {
  ops: SystemOps;
  out: (line: string) => void;
}

export const UNIT_DIR = '/etc/systemd/system';

/**
 * `reach-server install-service`: a system user, the env file (owner-only, with a new API key when
 * it is created), the data directory, `reach-mcp.service`, then `systemctl enable --now`. Every
 * check runs before anything is written; a step that fails removes what the earlier ones made.
 */
export async function installServerService(o: InstallServiceOptions, deps: InstallDeps): Promise<void> {
  const { ops, out } = deps;
  const onMachine = resolve(o.root) === '/';
  const at = (p: string): string => join(o.root, p);
  if (onMachine && !ops.isRoot()) {
    throw new ReachError(
      'PERMISSION_DENIED',
      'install-service needs root: sudo reach-server install-service',
    );
  }
  const unitDir = at(o.unitDir ?? UNIT_DIR);
  const unitPath = join(unitDir, SERVER_UNIT_NAME);
  if ((await pathExists(unitPath)) && !o.force) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `${unitPath} already exists: pass --force to rewrite it, or run install-service --uninstall first`,
    );
  }
  if (onMachine) checkReadableByService(o.command);

  // The env file decides the ports; an existing one must not leak its secrets.
  const envPath = at(o.envFile);
  const existingEnv = await readEnvFile(envPath);
  const envText = existingEnv ?? renderServerEnvTemplate(randomBytes(32).toString('hex'));
  const env = parseEnvFile(envText);
  const { config } = loadServerConfig(['--data-dir', o.dataDir], { ...env, REACH_SERVER_HOME: o.dataDir });
  if (o.checkPorts ?? onMachine) {
    for (const [what, host, port] of [
      ['REACH_SSH_PORT', config.sshHost, config.sshPort],
      ['REACH_PORT', config.host, config.port],
    ] as const) {
      if (!(await ops.portFree(host, port))) {
        throw new ReachError(
          'INVALID_ARGUMENT',
          `port ${port} on ${host} is in use: stop what holds it or set ${what} in ${envPath}`,
        );
      }
    }
  }

  const undo: Array<() => Promise<unknown>> = [];
  try {
    if (onMachine && !(await userExists(ops, o.user))) {
      await runOrThrow(ops, 'useradd', [
        '--system',
        '--user-group',
        '--home-dir',
        o.dataDir,
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        o.user,
      ]);
      undo.push(() => ops.run('userdel', [o.user]));
      out(`created system user ${o.user}`);
    }
    const dataDir = at(o.dataDir);
    if (!(await pathExists(dataDir))) {
      await mkdir(dataDir, { recursive: true, mode: 0o700 });
      undo.push(() => rm(dataDir, { recursive: true, force: true }));
    }
    if (onMachine) {
      await checkServiceUserCanRun(ops, o.user, o.command);
      await runOrThrow(ops, 'chown', ['-R', `${o.user}:${o.user}`, dataDir]);
    }
    if (existingEnv === undefined) {
      await mkdir(dirname(envPath), { recursive: true, mode: 0o755 });
      await writeFileReplacing(envPath, envText, 0o600);
      undo.push(() => rm(envPath, { force: true }));
      out(`wrote ${envPath} (0600) with a new REACH_API_KEY: read it there for your MCP client`);
    }
    await mkdir(dirname(unitPath), { recursive: true, mode: 0o755 });
    const unit = renderServerUnit({
      command: o.command,
      user: o.user,
      dataDir: o.dataDir,
      envFile: o.envFile,
      sshPort: config.sshPort,
      httpPort: config.port,
    });
    await writeFileReplacing(unitPath, unit, 0o644);
    undo.push(() => rm(unitPath, { force: true }));
    out(`wrote ${unitPath}`);
    const units = [SERVER_UNIT_NAME];
    if (o.receiverPort !== undefined) {
      const receiverPath = join(unitDir, RECEIVER_UNIT_NAME);
      await writeFileReplacing(
        receiverPath,
        renderReceiverUnit({
          command: o.command,
          user: o.user,
          logFile: join(o.dataDir, 'webhook-receiver.jsonl'),
          port: o.receiverPort,
          envFile: o.envFile,
        }),
        0o644,
      );
      undo.push(() => rm(receiverPath, { force: true }));
      units.push(RECEIVER_UNIT_NAME);
      out(`wrote ${receiverPath}`);
    }
    if (onMachine) {
      await runOrThrow(ops, 'systemctl', ['daemon-reload']);
      await runOrThrow(ops, 'systemctl', ['enable', ...(o.start ? ['--now'] : []), ...units]);
    } else {
      await runOrThrow(ops, 'systemctl', [`--root=${resolve(o.root)}`, 'enable', ...units]);
    }
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => {});
    throw err;
  }
  out(
    onMachine && o.start
      ? `started: systemctl status reach-mcp · logs: journalctl -u reach-mcp -f · stop: systemctl stop reach-mcp`
      : `enabled (not started): systemctl start reach-mcp`,
  );
}

export interface UninstallOptions {
  root: string;
  envFile: string;
  dataDir: string;
  /** Also remove the env file and the data directory (keys, reach.db). */
  purge: boolean;
  unitDir?: string | undefined;
}

/** `install-service --uninstall`: stops and disables the units and removes them; data stays unless purged. */
export async function uninstallServerService(o: UninstallOptions, deps: InstallDeps): Promise<void> {
  const { ops, out } = deps;
  const onMachine = resolve(o.root) === '/';
  if (onMachine && !ops.isRoot()) {
    throw new ReachError('PERMISSION_DENIED', 'install-service --uninstall needs root');
  }
  const unitDir = join(o.root, o.unitDir ?? UNIT_DIR);
  const units = [SERVER_UNIT_NAME, RECEIVER_UNIT_NAME];
  const present: string[] = [];
  for (const u of units) if (await pathExists(join(unitDir, u))) present.push(u);
  if (present.length === 0) {
    out(`nothing to remove: no ${SERVER_UNIT_NAME} in ${unitDir}`);
    return;
  }
  // A unit that is not loaded cannot be stopped; that is not a failure of the uninstall.
  await ops.run('systemctl', [
    ...(onMachine ? [] : [`--root=${resolve(o.root)}`]),
    'disable',
    ...(onMachine ? ['--now'] : []),
    ...present,
  ]);
  for (const u of present) {
    await rm(join(unitDir, u), { force: true });
    out(`removed ${join(unitDir, u)}`);
  }
  if (onMachine) await ops.run('systemctl', ['daemon-reload']);
  if (o.purge) {
    await rm(join(o.root, o.envFile), { force: true });
    await rm(join(o.root, o.dataDir), { recursive: true, force: true });
    out(`purged ${join(o.root, o.envFile)} and ${join(o.root, o.dataDir)}`);
  } else {
    out(`kept ${join(o.root, o.envFile)} and ${join(o.root, o.dataDir)} (--purge removes them)`);
  }
}

async function readEnvFile(path: string): Promise<string | undefined> {
  let st: Awaited<ReturnType<typeof lstat>>;
  try {
    st = await lstat(path);
  } catch {
    return undefined;
  }
  if (!st.isFile()) throw new ReachError('INVALID_ARGUMENT', `${path} is not a regular file`);
  const text = await readFile(path, 'utf8');
  const secrets = secretsIn(parseEnvFile(text));
  if (secrets.length > 0 && (st.mode & 0o077) !== 0) {
    throw new ReachError(
      'PERMISSION_DENIED',
      `${path} holds ${secrets.join(', ')} but is readable by others (mode ${(st.mode & 0o777).toString(8)}): chmod 600 ${path}`,
    );
  }
  return text;
}

/** The service user must be able to read the program and its script, or every start fails. */
async function checkServiceUserCanRun(
  ops: SystemOps,
  user: string,
  command: readonly string[],
): Promise<void> {
  for (const word of command) {
    if (!word.startsWith('/')) continue;
    const r = await ops.run('setpriv', [
      `--reuid=${user}`,
      `--regid=${user}`,
      '--clear-groups',
      '--',
      'test',
      '-r',
      word,
    ]);
    if (r.code !== 0) {
      throw new ReachError(
        'PERMISSION_DENIED',
        `the service user ${user} cannot read ${word}: install the executable where it can (e.g. /usr/local/bin) or pass --exec`,
      );
    }
  }
}

/**
 * ProtectHome= hides /home, /root and /run/user from the service, and the service user must be
 * able to read the program: say so now rather than leave a unit that fails at every restart.
 */
function checkReadableByService(command: readonly string[]): void {
  for (const word of command) {
    if (!word.startsWith('/')) continue;
    if (/^\/(home|root|run\/user)(\/|$)/.test(word)) {
      throw new ReachError(
        'INVALID_ARGUMENT',
        `${word} is under a home directory, which the service cannot see (ProtectHome): install the executable to /usr/local/bin or pass --exec`,
      );
    }
    try {
      accessSync(word, constants.R_OK);
    } catch {
      throw new ReachError('FILE_NOT_FOUND', `${word} does not exist or is not readable`);
    }
  }
}

async function userExists(ops: SystemOps, user: string): Promise<boolean> {
  return (await ops.run('getent', ['passwd', user])).code === 0;
}

export const INSTALL_DEFAULTS = {
  root: '/',
  user: SERVICE_USER,
  dataDir: SERVICE_DATA_DIR,
  envFile: SERVICE_ENV_FILE,
} as const;
