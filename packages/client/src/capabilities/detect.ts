import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import type { Platform } from '../platform/platform.ts';

/**
 * Executables whose presence on PATH names a capability. Several names may give one capability
 * (apt-get → apt); a capability is reported once.
 */
export const CAPABILITY_EXECUTABLES: Readonly<Record<string, string>> = {
  docker: 'docker',
  podman: 'podman',
  git: 'git',
  node: 'node',
  npm: 'npm',
  'nvidia-smi': 'gpu',
  kubectl: 'kubectl',
  helm: 'helm',
  go: 'go',
  rustc: 'rust',
  cargo: 'cargo',
  java: 'java',
  gcc: 'gcc',
  make: 'make',
  apt: 'apt',
  'apt-get': 'apt',
  dnf: 'dnf',
  yum: 'yum',
  pacman: 'pacman',
  brew: 'brew',
  apk: 'apk',
  zypper: 'zypper',
  snap: 'snap',
  flatpak: 'flatpak',
  pip: 'pip',
  pip3: 'pip',
  systemctl: 'systemctl',
  ssh: 'ssh',
  rsync: 'rsync',
  curl: 'curl',
};

/** python3 and versioned python3.X binaries each count as a capability of their own name. */
const PYTHON = /^python3(\.\d+)?$/;

export interface DetectOptions {
  /** The PATH to search (the caller passes the environment's). */
  pathEnv: string;
  /** Whole detection is bounded; what was found by then is returned. In ms. */
  timeoutMs?: number;
  /** Present when systemd is the running init (sd_booted() checks the same directory). */
  systemdDir?: string;
  /** Windows: PATH entries are `C:\…` separated by `;`, executables end in a PATHEXT suffix. */
  platform?: Pick<Platform, 'name' | 'isAbsolute' | 'join'>;
}

/** PATHEXT's default executable suffixes; `git.exe` and `npm.cmd` name the capabilities git, npm. */
const WINDOWS_EXECUTABLE = /\.(exe|cmd|bat|com)$/i;

/**
 * Detects what this machine offers by looking executables up on PATH (directory listings, no
 * shell, no process started), in parallel and within a time bound. Sorted, de-duplicated names,
 * e.g. ['apt', 'docker', 'git', 'python3', 'python3.11', 'systemd'].
 */
export async function detectCapabilities(o: DetectOptions): Promise<string[]> {
  const found = new Set<string>();
  const win = o.platform?.name === 'win32';
  const isAbsolute = o.platform?.isAbsolute ?? ((d: string) => d.startsWith('/'));
  const joinPath = o.platform?.join ?? join;
  const dirs = [...new Set(o.pathEnv.split(win ? ';' : delimiter).filter((d) => isAbsolute(d)))];
  const work = Promise.all([
    ...dirs.map(async (dir) => {
      const names = await readdir(dir).catch(() => [] as string[]);
      await Promise.all(
        names.map(async (file) => {
          if (win && !WINDOWS_EXECUTABLE.test(file)) return;
          const name = win ? file.replace(WINDOWS_EXECUTABLE, '').toLowerCase() : file;
          const capability = PYTHON.test(name) ? name : CAPABILITY_EXECUTABLES[name];
          if (capability === undefined || found.has(capability)) return;
          if (await isExecutableFile(joinPath(dir, file))) found.add(capability);
        }),
      );
    }),
    (win ? Promise.reject(new Error('no systemd')) : stat(o.systemdDir ?? '/run/systemd/system')).then(
      (s) => {
        if (s.isDirectory()) found.add('systemd');
      },
      () => undefined,
    ),
  ]);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((r) => (timer = setTimeout(r, o.timeoutMs ?? 3000)))]);
  clearTimeout(timer);
  return [...found].sort();
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const s = await stat(path);
    if (!s.isFile()) return false;
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
