import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';

/**
 * An append-only log file rotated by size: past `maxBytes` the file becomes `<path>.1`, older ones
 * shift up, and at most `maxFiles` rotated files are kept, so the files never hold more than
 * `(maxFiles + 1) × maxBytes`, even for one huge line. Writes are synchronous (one JSON line each),
 * so a crash loses nothing already logged.
 */
export class RotatingFile {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #maxFiles: number;
  #fd: number;
  #size: number;

  constructor(path: string, options: { maxBytes: number; maxFiles: number }) {
    this.#path = path;
    this.#maxBytes = options.maxBytes;
    this.#maxFiles = options.maxFiles;
    this.#fd = openSync(path, 'a', 0o600);
    this.#size = statSync(path).size;
  }

  write(line: string): boolean {
    const chunk = Buffer.byteLength(line) > this.#maxBytes ? this.#placeholder(line) : line;
    const bytes = Buffer.byteLength(chunk);
    if (this.#size > 0 && this.#size + bytes > this.#maxBytes) this.#rotate();
    writeSync(this.#fd, chunk);
    this.#size += bytes;
    return true;
  }

  /**
   * A line longer than the whole file would break the size limit by itself: it is replaced by a
   * short JSON line that keeps its head (at most 1 KiB, a sixteenth of the limit) and its size.
   */
  #placeholder(line: string): string {
    const head = line.slice(0, Math.min(1024, Math.floor(this.#maxBytes / 16)));
    const record = {
      time: Date.now(),
      msg: 'log line too long for the log file; cut',
      bytes: Buffer.byteLength(line),
      head,
    };
    return `${JSON.stringify(record)}\n`;
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  #rotate(): void {
    closeSync(this.#fd);
    for (let i = this.#maxFiles - 1; i >= 1; i--) {
      const from = `${this.#path}.${i}`;
      if (existsSync(from)) renameSync(from, `${this.#path}.${i + 1}`);
    }
    renameSync(this.#path, `${this.#path}.1`);
    this.#fd = openSync(this.#path, 'a', 0o600);
    this.#size = 0;
  }
}
