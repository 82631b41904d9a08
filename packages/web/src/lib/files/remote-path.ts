// Paths on the client, which may be POSIX (`/a/b`) or Windows (`C:\a\b`) whatever the browser runs on.

function sepOf(path: string): '/' | '\\' {
  return path.includes('\\') && !path.includes('/') ? '\\' : '/';
}

/** `/a/b` + `c` → `/a/b/c`; `C:\dir` + `x` → `C:\dir\x`. */
export function joinPath(dir: string, name: string): string {
  const sep = sepOf(dir);
  return dir.endsWith(sep) ? `${dir}${name}` : `${dir}${sep}${name}`;
}

/** The directory above: `/a/b` → `/a`, `/a` → `/`, `/` → `/`, `C:\a` → `C:\`. */
export function parentPath(path: string): string {
  const sep = sepOf(path);
  const trimmed = path.length > 1 && path.endsWith(sep) ? path.slice(0, -1) : path;
  const i = trimmed.lastIndexOf(sep);
  if (sep === '/') return i <= 0 ? '/' : trimmed.slice(0, i);
  return i <= 2 ? trimmed.slice(0, 2) + sep : trimmed.slice(0, i);
}
