import os from 'node:os';
import { ReachError } from '@reach/protocol';
import { realSystemOps, serviceCommand } from '@reach/protocol/node';
import { resolveConfigDir } from '../config/load-config.ts';
import {
  type ClientServiceOptions,
  installClientService,
  uninstallClientService,
} from '../service/install-client-service.ts';
import type { Command, CommandContext } from './command.ts';

function serviceOptions(ctx: CommandContext): ClientServiceOptions {
  const { flags } = ctx;
  if (flags.user === true && flags.system === true) {
    throw new ReachError('INVALID_ARGUMENT', 'choose one of --user, --system');
  }
  return {
    scope: flags.system === true ? 'system' : 'user',
    start: flags['no-start'] !== true,
    configDir: resolveConfigDir(ctx.sources),
    command: typeof flags.exec === 'string' ? flags.exec.split(/\s+/).filter(Boolean) : serviceCommand(),
    homedir: ctx.io.homedir ?? os.homedir(),
    env: ctx.io.env,
    platform: process.platform,
    root: typeof flags.root === 'string' ? flags.root : undefined,
  };
}

/** `--install-service [--user|--system] [--no-start]`: run this client as a service that restarts forever. */
export const installServiceCommand: Command = {
  flag: 'install-service',
  run: async (ctx) => {
    await installClientService(serviceOptions(ctx), {
      ops: realSystemOps,
      out: (l) => ctx.io.stdout(`${l}\n`),
    });
    return 0;
  },
};

/** `--uninstall-service [--user|--system]`: stop and remove it. */
export const uninstallServiceCommand: Command = {
  flag: 'uninstall-service',
  run: async (ctx) => {
    await uninstallClientService(serviceOptions(ctx), {
      ops: realSystemOps,
      out: (l) => ctx.io.stdout(`${l}\n`),
    });
    return 0;
  },
};
