import { ReachError, toReachError } from '../errors.ts';

/** Maps a Node filesystem error to the shared codes, naming the path the caller gave. */
export function fsError(err: unknown, path: string): ReachError {
  if (err instanceof ReachError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new ReachError('FILE_NOT_FOUND', `no such file or directory: ${path}`, { details: { path } });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ReachError('PERMISSION_DENIED', `permission denied: ${path}`, { details: { path } });
    case 'EISDIR':
      return new ReachError('INVALID_ARGUMENT', `is a directory: ${path}`, { details: { path } });
    case 'ENOSPC':
    case 'EDQUOT':
      return new ReachError('TRANSFER_FAILED', `no space left for ${path}`, {
        details: { path },
        cause: err,
      });
    case 'ELOOP':
      // Either an open with O_NOFOLLOW met a symlink at the last component, or a path looped
      // through too many of them: in both cases a symlink was refused, not followed.
      return new ReachError(
        'PATH_DENIED',
        `symbolic link refused: ${path} (a link where none may be followed, or too many links)`,
        { details: { path } },
      );
    default:
      return toReachError(err);
  }
}
