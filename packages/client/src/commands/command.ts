import type { ConfigSources } from '../config/load-config.ts';
import type { Platform } from '../platform/platform.ts';

/** Where a CLI run reads and writes; tests pass their own. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted by bin.ts on SIGINT/SIGTERM: a running agent closes and main resolves. */
  signal?: AbortSignal | undefined;
  homedir?: string | undefined;
  /** The OS layer (shell, process tree, paths, ACLs); main.ts passes process.platform's. */
  platform?: Platform | undefined;
}

export interface CommandContext {
  io: CliIo;
  /** Where configuration comes from, flags included. */
  sources: ConfigSources;
  /** `--force` (generate-key), `--json` (list-clients). */
  force: boolean;
  json: boolean;
  /** Every parsed flag, for commands with options of their own (`--user`, `--no-start`). */
  flags: Readonly<Record<string, string | boolean | undefined>>;
  /** The arguments main was given: a self-update restarts the new version with them. */
  argv?: readonly string[] | undefined;
}

/** One action of the CLI, selected by its flag; the agent runs when none is given. */
export interface Command {
  /** The long option that selects it (`init` for `--init`). */
  flag: string;
  run: (ctx: CommandContext) => Promise<number>;
}

/** Exit codes: 0 ok, 1 failure, 2 usage error, 3 the server's host key changed. */
export const EXIT = { ok: 0, failure: 1, usage: 2, hostKeyMismatch: 3 } as const;
