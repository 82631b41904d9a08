import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ArchiveTarget } from './targets.ts';
import { zipArchive } from './zip-file.ts';

const run = promisify(execFile);
const PORTABLE = join(import.meta.dirname, 'portable');

/**
 * Writes `target.name` in `outDir`: a `reach/` folder with the executable (`reach` or
 * `reach.exe`) and setup/run scripts (`.sh` for Linux, `.bat` for Windows). Owner, group and
 * times are fixed so the same executable gives the same archive.
 */
export async function makeArchive(target: ArchiveTarget, outDir: string, workDir: string): Promise<void> {
  const windows = target.format === 'zip';
  const exe = join(outDir, target.executable);
  const scripts = windows ? ['setup.bat', 'run.bat'] : ['setup.sh', 'run.sh'];
  if (windows) {
    const entries = [
      { name: 'reach/reach.exe', data: await readFile(exe), mode: 0o755 },
      ...(await Promise.all(
        scripts.map(async (s) => ({
          name: `reach/${s}`,
          data: await readFile(join(PORTABLE, s)),
          mode: 0o644,
        })),
      )),
    ];
    await writeFile(join(outDir, target.name), zipArchive(entries));
    return;
  }
  const stage = join(workDir, target.name);
  await rm(stage, { recursive: true, force: true });
  await mkdir(join(stage, 'reach'), { recursive: true });
  await copyFile(exe, join(stage, 'reach', 'reach'));
  for (const s of scripts) await copyFile(join(PORTABLE, s), join(stage, 'reach', s));
  for (const f of ['reach', ...scripts]) await chmod(join(stage, 'reach', f), 0o755);
  await run('tar', [
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '--mtime=@0',
    '--sort=name',
    '-czf',
    join(outDir, target.name),
    '-C',
    stage,
    'reach',
  ]);
  await rm(stage, { recursive: true, force: true });
}
