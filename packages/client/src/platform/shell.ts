import { ReachError } from '@reach/protocol';

/** The shells a request may ask for on a Windows client; absent means the platform's default. */
export type ShellChoice = 'cmd' | 'powershell';

/** How one command is started: a program and its argument vector, never a string for a shell. */
export interface ShellSpawn {
  file: string;
  args: string[];
  /** POSIX: the shell leads a new process group, so the whole group can be killed. */
  detached: boolean;
  /** Windows: `args` is already quoted for cmd.exe and must reach it as written. */
  windowsVerbatimArguments: boolean;
}

/**
 * cmd.exe reads at most 8191 characters of command line (Microsoft, "Command prompt line string
 * limitation"); `/d /s /c "…"` takes 12 of them.
 */
export const CMD_MAX_CHARS = 8191 - 12;
/** CreateProcess's command line limit is 32767 UTF-16 units; kept below it for the flags. */
export const POWERSHELL_MAX_ENCODED_CHARS = 32_000;

/** `/bin/sh -c cmd`, leading a process group of its own. A Windows shell name is refused. */
export function posixShell(cmd: string, choice?: ShellChoice): ShellSpawn {
  if (choice !== undefined) {
    throw new ReachError('INVALID_ARGUMENT', `shell "${choice}" is only available on Windows clients`, {
      details: { shell: choice },
      recoveryHint: 'omit shell: commands on this client run with /bin/sh',
    });
  }
  return { file: '/bin/sh', args: ['-c', cmd], detached: true, windowsVerbatimArguments: false };
}

/**
 * Windows: cmd.exe (`%ComSpec%`) by default, as Node's own `shell: true` runs it — `/d` skips the
 * AutoRun registry commands, `/s /c "…"` makes cmd strip exactly the outer quotes and run the rest
 * as typed, so nothing in `cmd` is re-quoted. PowerShell gets the command as `-EncodedCommand`
 * (base64 of UTF-16LE), which no quoting rule of CreateProcess or of PowerShell's own parser can
 * alter. Not detached: on Windows that would open a console window; the tree is killed by pid
 * (process-tree.ts). Both length limits are checked here, before any process exists.
 */
export function windowsShell(
  cmd: string,
  choice: ShellChoice | undefined,
  env: Readonly<Record<string, string | undefined>>,
): ShellSpawn {
  if (choice === 'powershell') {
    const encoded = Buffer.from(cmd, 'utf16le').toString('base64');
    if (encoded.length > POWERSHELL_MAX_ENCODED_CHARS) {
      throw tooLong('powershell', Math.floor((POWERSHELL_MAX_ENCODED_CHARS / 8) * 3));
    }
    return {
      file: 'powershell.exe',
      args: ['-NoLogo', '-NoProfile', '-NonInteractive', '-EncodedCommand', encoded],
      detached: false,
      windowsVerbatimArguments: false,
    };
  }
  if (cmd.length > CMD_MAX_CHARS) throw tooLong('cmd', CMD_MAX_CHARS);
  return {
    file: env.ComSpec ?? env.COMSPEC ?? 'cmd.exe',
    args: ['/d', '/s', '/c', `"${cmd}"`],
    detached: false,
    windowsVerbatimArguments: true,
  };
}

function tooLong(shell: ShellChoice, max: number): ReachError {
  return new ReachError('INVALID_ARGUMENT', `command too long for ${shell} (max about ${max} characters)`, {
    details: { shell, max },
    recoveryHint: 'put the commands in a script file and run that',
  });
}
