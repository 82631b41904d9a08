/**
 * The four mutations a campaign interrupts, each set up in directories of its own so what a fault
 * leaves behind is seen apart from every other fault: what the call's arguments are, where its
 * destination is, and what the destination holds before (old) and after (new).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from './fault-checks.ts';
import type { FaultOp } from './fault-plan.ts';

export interface CampaignDirs {
  /** The client's side: destinations of write_file/upload_file, sources of download_file. */
  work: string;
  /** The server's transfer root (`<data dir>/transfers`). */
  transfers: string;
  /** Where run_command writes its pids, outside every directory checked for litter. */
  pids: string;
}

export interface PreparedOp {
  op: FaultOp;
  args: Record<string, unknown>;
  /** The file whose content tells old from new (run_command: its marker, absent before). */
  dest: string;
  oldSha: string;
  newSha: string;
  /** Directories the fault wrote into, with the only names each may hold afterwards. */
  dirs: Array<{ dir: string; allowed: string[] }>;
  /** run_command: the file holding `<shell pid> <sleep pid>` once the command runs. */
  pidFile?: string;
}

/** Sizes: a write_file body under the 4 MiB HTTP cap; transfers long enough to be caught mid-way. */
export interface OpSizes {
  writeBytes: number;
  transferBytes: number;
  /** run_command sleeps this long before touching its marker (the issue's `sleep 5`). */
  commandSleepS: number;
}

export const DEFAULT_SIZES: OpSizes = {
  writeBytes: 3 * 1024 * 1024,
  transferBytes: 64 * 1024 * 1024,
  commandSleepS: 5,
};

/** Makes the sources every fault of a campaign shares: one upload source, one download source. */
export async function prepareSources(dirs: CampaignDirs, sizes: OpSizes) {
  const body = randomBytes(sizes.transferBytes);
  await mkdir(join(dirs.transfers, 'src'), { recursive: true });
  await mkdir(join(dirs.work, 'src'), { recursive: true });
  await mkdir(dirs.pids, { recursive: true });
  const upload = join(dirs.transfers, 'src', 'upload.bin');
  const download = join(dirs.work, 'src', 'download.bin');
  await writeFile(upload, body);
  await writeFile(download, body);
  return { upload, download, sha: sha256(body) };
}

/** Sets up fault `name` of `op`: its directories, the old destination, the call's arguments. */
export async function prepareOp(
  op: FaultOp,
  name: string,
  clientId: string,
  dirs: CampaignDirs,
  sources: { upload: string; download: string; sha: string },
  sizes: OpSizes,
): Promise<PreparedOp> {
  const clientDir = join(dirs.work, name);
  const serverDir = join(dirs.transfers, name);
  await mkdir(clientDir, { recursive: true });
  await mkdir(serverDir, { recursive: true });
  const old = `old content of ${name}\n`;
  const base = { client_id: clientId, idempotency_key: `fault-${name}` };
  const both = (file: string) => [
    { dir: clientDir, allowed: [file] },
    { dir: serverDir, allowed: [file] },
  ];
  switch (op) {
    case 'write_file': {
      const dest = join(clientDir, 'written.txt');
      await writeFile(dest, old);
      const content = `new content of ${name}\n`.padEnd(sizes.writeBytes, 'w');
      return {
        op,
        args: { ...base, path: dest, content },
        dest,
        oldSha: sha256(old),
        newSha: sha256(content),
        dirs: both('written.txt'),
      };
    }
    case 'upload_file': {
      const dest = join(clientDir, 'upload.bin');
      await writeFile(dest, old);
      return {
        op,
        args: { ...base, local_path: sources.upload, remote_path: dest },
        dest,
        oldSha: sha256(old),
        newSha: sources.sha,
        dirs: both('upload.bin'),
      };
    }
    case 'download_file': {
      const dest = join(serverDir, 'download.bin');
      await writeFile(dest, old);
      return {
        op,
        args: { ...base, remote_path: sources.download, local_path: join(name, 'download.bin') },
        dest,
        oldSha: sha256(old),
        newSha: sources.sha,
        dirs: both('download.bin'),
      };
    }
    case 'run_command': {
      const dest = join(clientDir, 'marker');
      const pidFile = join(dirs.pids, `${name}.pids`);
      // The issue's `sleep N; touch marker`, with the shell's and the sleep's pids written first so
      // their deaths can be watched (the sleep runs in the background of the same shell).
      const cmd = `sleep ${sizes.commandSleepS} & echo "$$ $!" > ${pidFile}; wait; touch ${dest}`;
      return {
        op,
        args: { ...base, cmd, cwd: clientDir, timeout: 60 },
        dest,
        oldSha: 'absent',
        newSha: sha256(''),
        dirs: both('marker'),
        pidFile,
      };
    }
  }
}
