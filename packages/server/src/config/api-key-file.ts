import { open } from 'node:fs/promises';
import { ReachError } from '@reach/protocol';

/** A key file is a handful of lines; anything bigger is not one. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

function bad(path: string, message: string, cause?: unknown): ReachError {
  return new ReachError('INVALID_ARGUMENT', `--api-key-file ${path}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * The bearer keys in `path` (`--api-key-file`, `REACH_API_KEY_FILE`): one key a line, blank lines
 * and `#` comments skipped. Unlike `--api-key`, a file does not show in `ps` or
 * /proc/<pid>/cmdline. Like OpenSSH with a private key, a file that group or others may read or
 * write is refused; the mode is checked on the descriptor that is then read, so a swap between
 * check and read cannot pass. Every failure is INVALID_ARGUMENT naming the file.
 */
export async function readApiKeyFile(path: string, platform = process.platform): Promise<string[]> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw bad(path, `cannot open (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  let text: string;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw bad(path, 'not a regular file');
    // Windows has no POSIX mode bits to check (its ACLs are the owner's business).
    if (platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw bad(path, `is accessible by group or others (mode ${mode}); run: chmod 600 ${path}`);
    }
    if (stat.size > MAX_KEY_FILE_BYTES)
      throw bad(path, `is ${stat.size} bytes; at most ${MAX_KEY_FILE_BYTES}`);
    const buf = Buffer.alloc(MAX_KEY_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_KEY_FILE_BYTES) throw bad(path, `is over ${MAX_KEY_FILE_BYTES} bytes`);
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  const keys: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    // A bearer token is one header word (RFC 6750 §2.1); a space means a mangled file.
    if (/\s/.test(line)) throw bad(path, `line ${i + 1} holds more than one word`);
    keys.push(line);
  }
  if (keys.length === 0) throw bad(path, 'holds no key');
  return keys;
}
