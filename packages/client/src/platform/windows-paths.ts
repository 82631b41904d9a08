import { realpath } from 'node:fs/promises';
import { win32 } from 'node:path';
import { ReachError } from '@reach/protocol';

/** The call windows path resolution makes; a test on Linux passes a table of a Windows volume. */
export type RealPath = (path: string) => Promise<string>;

const DRIVE_ABSOLUTE = /^[A-Za-z]:[\\/]/;
/** `\\server\share`: two leading separators, then a server and a share name. */
const UNC = /^[\\/]{2}[^\\/?.][^\\/]*[\\/][^\\/]+/;
/** `\\?\` and `\\.\`: the device namespace skips Win32 normalization, so nothing could be judged. */
const DEVICE = /^[\\/]{2}[?.][\\/]/;

/** Whether `p` is a drive path (`C:\…`) or a UNC path (`\\server\share\…`). */
export function isWindowsAbsolute(p: string): boolean {
  return !DEVICE.test(p) && (DRIVE_ABSOLUTE.test(p) || UNC.test(p));
}

/**
 * Resolves a Windows path before it is checked: `..` and `.` are applied to the text first, as
 * Windows itself does (Win32 path normalization is lexical: `C:\a\junction\..` is `C:\a`, whatever
 * the junction points to), then the longest prefix that exists goes through realpath (the kernel's
 * final path: junctions, symbolic links, mapped drives, 8.3 short names and letter case all
 * resolved), and the components that do not exist yet are appended as written. A drive-relative
 * (`C:x`), root-relative (`\x`) or device (`\\?\`, `\\.\`) path is INVALID_ARGUMENT.
 */
export async function resolveWindowsPath(path: string, real: RealPath = realpath): Promise<string> {
  if (!isWindowsAbsolute(path)) {
    throw new ReachError(
      'INVALID_ARGUMENT',
      `path must be absolute (C:\\… or \\\\server\\share\\…): ${path}`,
      {
        details: { path },
      },
    );
  }
  const normal = win32.normalize(path);
  const rest: string[] = [];
  let prefix = normal;
  for (;;) {
    try {
      const head = await real(prefix);
      return rest.length === 0 ? head : win32.join(head, ...rest.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EACCES' && code !== 'EPERM') {
        if (code === 'ELOOP') {
          throw new ReachError('PATH_DENIED', `too many links in ${path}`, { details: { path } });
        }
        throw err;
      }
    }
    const parent = win32.dirname(prefix);
    // At the root (`C:\`, `\\server\share\`) nothing above is left to resolve: take it literally.
    if (parent === prefix) return normal;
    rest.push(win32.basename(prefix));
    prefix = parent;
  }
}

/**
 * True when resolved `path` is `root` or lies under it, by whole components and ignoring case (NTFS
 * and SMB compare names case-insensitively by default).
 */
export function isWithinWindows(path: string, root: string): boolean {
  const p = win32.normalize(path).toLowerCase();
  const r = win32.normalize(root).toLowerCase();
  if (p === r) return true;
  const prefix = r.endsWith('\\') ? r : `${r}\\`;
  return p.startsWith(prefix) || `${p}\\` === prefix;
}
