import os from 'node:os';
import { posix, win32 } from 'node:path';
import { isWithin, type PathRules, resolvePath } from '../agent/path-policy.ts';
import { type RunArgv, restrictWindowsAcl } from './owner-only.ts';
import { type KillTree, killPosixGroup, windowsTreeKill } from './process-tree.ts';
import { posixShell, type ShellChoice, type ShellSpawn, windowsShell } from './shell.ts';
import { isWithinWindows, type RealPath, resolveWindowsPath } from './windows-paths.ts';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * What differs between the operating systems the client runs on: shell, process tree, paths,
 * config home, key-file permissions, metrics sources. Built once in the composition root from
 * `process.platform` (platformFor) and passed down; tests build the Windows one on Linux.
 */
export interface Platform {
  readonly name: 'posix' | 'win32';
  /** How `cmd` is started (run_command); throws INVALID_ARGUMENT for a shell this OS lacks. */
  shell(cmd: string, choice: ShellChoice | undefined, env: Env): ShellSpawn;
  /** Kills a command's process tree (on timeout or cancel). */
  killTree: KillTree;
  /** How the path policy resolves and compares paths. */
  paths: PathRules;
  /** The config directory when neither --config nor REACH_HOME names one. */
  defaultConfigDir(env: Env, homedir: string): string;
  /** Whether `p` is absolute on this OS (config dir and key_file). */
  isAbsolute(p: string): boolean;
  join(...parts: string[]): string;
  resolveDir(p: string): string;
  /**
   * Leaves `path` readable by its owner only. POSIX: nothing to do, the file was created 0600 (or
   * the directory 0700). Windows: the ACL (owner-only.ts).
   */
  restrictToOwner(path: string, kind: 'file' | 'dir'): Promise<void>;
  /** Root of procfs where metrics come from; null where there is none (then `os` gives them). */
  readonly procRoot: string | null;
  /** Filesystems `get_metrics` reports when there is no /proc/mounts to list them. */
  diskRoots(env: Env): string[];
}

export interface WindowsDeps {
  /** realpath of the running system (a table of a Windows volume in tests). */
  realpath?: RealPath;
  /** Runs icacls/taskkill argument vectors. */
  runAcl?: RunArgv;
  killTree?: KillTree;
  /** The account the key file is granted to (default: this process's user). */
  user?: string;
}

export const POSIX_PLATFORM: Platform = {
  name: 'posix',
  shell: (cmd, choice) => posixShell(cmd, choice),
  killTree: killPosixGroup,
  paths: { resolve: (p) => resolvePath(p), isWithin },
  defaultConfigDir: (_env, home) => posix.join(home, '.reach'),
  isAbsolute: posix.isAbsolute,
  join: posix.join,
  resolveDir: (p) => posix.resolve(p),
  restrictToOwner: async () => undefined,
  procRoot: '/proc',
  diskRoots: () => ['/'],
};

/** The Windows platform; every system call it makes can be injected (tests run it on Linux). */
export function windowsPlatform(deps: WindowsDeps = {}): Platform {
  const user = () => deps.user ?? os.userInfo().username;
  return {
    name: 'win32',
    shell: (cmd, choice, env) => windowsShell(cmd, choice, env),
    killTree: deps.killTree ?? windowsTreeKill(),
    paths: {
      resolve: (p) => resolveWindowsPath(p, deps.realpath),
      isWithin: isWithinWindows,
      descriptorPaths: false,
    },
    // %USERPROFILE%\.reach, as the reference client keeps it (os.homedir() reads USERPROFILE too).
    defaultConfigDir: (env, home) => win32.join(env.USERPROFILE || home, '.reach'),
    isAbsolute: win32.isAbsolute,
    join: win32.join,
    resolveDir: (p) => win32.resolve(p),
    restrictToOwner: (path, kind) => restrictWindowsAcl(path, user(), kind, deps.runAcl),
    procRoot: null,
    diskRoots: (env) => [`${(env.SystemDrive || 'C:').slice(0, 2)}\\`],
  };
}

/** The platform for a `process.platform` value (the composition root passes the real one). */
export function platformFor(name: NodeJS.Platform, deps: WindowsDeps = {}): Platform {
  return name === 'win32' ? windowsPlatform(deps) : POSIX_PLATFORM;
}
