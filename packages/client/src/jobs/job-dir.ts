import { rmdirSync, unlinkSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** What a job's directory can hold; anything else (or an error) and the removal is recursive. */
const JOB_FILES = ['stdout', 'stderr', 'exit', 'job.json', 'job.json.tmp'];

const MAX_EXIT_FILE = 16;

/** The code a job's wrapper wrote to `file`; NaN while there is none (or it is half written). */
export async function readExitFile(file: string): Promise<number> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.length < MAX_EXIT_FILE && text.endsWith('\n') ? Number.parseInt(text, 10) : Number.NaN;
}

/**
 * Removes a job's directory with one unlink per known name and an rmdir, synchronously: a quick
 * job's discard took 0.25–0.35 ms here this way against 0.8–0.9 ms with fs.promises.rm's
 * recursive walk (a stat, a readdir and an unlink each a threadpool round trip), which every
 * quick run_command paid.
 */
export async function removeJobDir(d: string): Promise<void> {
  try {
    for (const name of JOB_FILES) {
      try {
        unlinkSync(join(d, name));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    rmdirSync(d);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') await rm(d, { recursive: true, force: true });
  }
}

/** A file's size; 0 when it does not exist (a stream nothing was written to yet). */
export const sizeOf = (file: string): Promise<number> =>
  stat(file).then(
    (s) => s.size,
    () => 0,
  );

/** Sizes of a job directory's two output files, read at once (one threadpool round trip). */
export async function streamSizes(d: string): Promise<{ stdout: number; stderr: number }> {
  const [stdout, stderr] = await Promise.all([sizeOf(join(d, 'stdout')), sizeOf(join(d, 'stderr'))]);
  return { stdout, stderr };
}
