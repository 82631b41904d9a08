import { dirname } from 'node:path';
import { LIMITS, ReachError, WriteFileParams } from '@reach/protocol';
import { fsError, type LitterSweeper, makeDirs } from '@reach/protocol/node';
import { writeFileAtomic } from '../../fs/atomic-write.ts';
import { openConfirmedDir } from '../open-confirmed.ts';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';
import { tooLarge } from './read-file.ts';

export interface WriteFileDeps {
  policy: PathPolicy;
  maxFileBytes?: number;
  /** Remembers the directories written into and sweeps one after a failed write. */
  litter?: Pick<LitterSweeper, 'note' | 'afterFailure'> | undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * `write_file`: atomic replace (temp file beside the target, fsync, rename, fsync of the directory),
 * parents created, the existing file's mode kept unless `mode` is given.
 */
export function writeFileHandler(deps: WriteFileDeps) {
  const limit = deps.maxFileBytes ?? LIMITS.maxFileBytes;
  return defineHandler(WriteFileParams, async ({ path, content, binary, mode }) => {
    const resolved = await deps.policy.check(path);
    let body: Buffer;
    if (binary) {
      const compact = content.replace(/\s+/g, '');
      if (compact.length % 4 === 1 || !BASE64.test(compact)) {
        throw new ReachError('INVALID_ARGUMENT', 'content is not valid base64', { details: { path } });
      }
      body = Buffer.from(compact, 'base64');
    } else {
      body = Buffer.from(content, 'utf8');
    }
    if (body.length > limit) throw tooLarge(path, body.length, limit);
    await writeChecked(deps.policy, path, resolved, body, mode, deps.litter);
    return { path, size: body.length };
  });
}

/**
 * The part of `write_file` after the check: `resolved` is what `policy.check(path)` returned. The
 * target's directory is opened and confirmed inside the policy by its descriptor; the temp file is
 * created in that open directory (O_EXCL|O_NOFOLLOW), confirmed too before a byte is written, and
 * renamed there, so a directory component swapped for a symlink after the check either fails the
 * call with PATH_DENIED (target untouched) or, once the directory is open, changes nothing.
 */
export async function writeChecked(
  policy: PathPolicy,
  path: string,
  resolved: string,
  body: Buffer,
  mode: number | undefined,
  litter?: WriteFileDeps['litter'],
): Promise<void> {
  await litter?.note(dirname(resolved));
  try {
    // Missing parents are made one at a time inside the directory above, held open (makeDirs).
    await makeDirs(dirname(resolved)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST' || err.code === 'ENOTDIR') {
        throw new ReachError('INVALID_ARGUMENT', `a parent of ${path} is not a directory`, {
          details: { path },
        });
      }
      throw err;
    });
    await writeFileAtomic(resolved, body, {
      // Unless set, the mode of the file replaced, read in the confirmed directory (not by name).
      mode: mode ?? 'keep',
      confirm: (fh, temp) => policy.confirmOpen(fh, temp),
      // The directory is opened and confirmed once; the temp file and the rename happen in it.
      openDir: (dir) => openConfirmedDir(policy, dir),
    });
  } catch (err) {
    await litter?.afterFailure(dirname(resolved)).catch(() => undefined);
    throw fsError(err, path);
  }
}
