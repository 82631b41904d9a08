/** What Reach uses of a PTY (node-pty's IPty, with raw bytes: `encoding: null`). */
export interface Pty {
  readonly pid: number;
  onData(listener: (data: Uint8Array) => void): void;
  onExit(listener: (e: { exitCode: number; signal?: number }) => void): void;
  write(data: Uint8Array): void;
  resize(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  kill(signal?: string): void;
}

export interface PtySpawnOptions {
  cols: number;
  rows: number;
  cwd: string;
  env: Record<string, string>;
}

/** Starts `file` on a new PTY (its own session and process group: pid = pgid). */
export type SpawnPty = (file: string, args: string[], options: PtySpawnOptions) => Pty;

interface NodePtyModule {
  spawn(
    file: string,
    args: string[],
    options: PtySpawnOptions & { name: string; encoding: null },
  ): {
    pid: number;
    onData(l: (d: Uint8Array) => void): unknown;
    onExit(l: (e: { exitCode: number; signal?: number }) => void): unknown;
    write(d: string): void;
    resize(c: number, r: number): void;
    pause(): void;
    resume(): void;
    kill(s?: string): void;
  };
}

let loading: Promise<SpawnPty | undefined> | undefined;

/**
 * Loads the PTY addon (@lydell/node-pty, node-pty's prebuilt fork) on first use, or undefined
 * where it cannot load: the single executables bundle no addon from disk (scripts/build), so
 * they lack the `terminal` capability rather than fail. Loaded lazily: the addon costs start-up
 * time for a feature most clients rarely use.
 */
export function loadPty(): Promise<SpawnPty | undefined> {
  loading ??= (async () => {
    try {
      const mod = (await import('@lydell/node-pty')) as unknown as NodePtyModule & {
        default?: NodePtyModule;
      };
      const pty = typeof mod.spawn === 'function' ? mod : mod.default;
      if (!pty || typeof pty.spawn !== 'function') return undefined;
      return (file, args, options) => {
        const p = pty.spawn(file, args, {
          ...options,
          name: options.env.TERM ?? 'xterm-256color',
          encoding: null,
        });
        return {
          pid: p.pid,
          onData: (l) => void p.onData(l),
          onExit: (l) => void p.onExit(l),
          // With `encoding: null` node-pty writes what it is given to the PTY's socket as is;
          // bytes keep a multi-byte character split across frames intact.
          write: (d) => p.write(d as unknown as string),
          resize: (c, r) => p.resize(c, r),
          pause: () => p.pause(),
          resume: () => p.resume(),
          kill: (s) => p.kill(s),
        };
      };
    } catch {
      return undefined;
    }
  })();
  return loading;
}
