import { closeSync, existsSync, openSync, renameSync, statSync, writeSync } from 'node:fs';

/**
 * An append-only log file rotated by size: past `maxBytes` the file becomes `<path>.1`, older ones
 * shift up, and at most `maxFiles` rotated files are kept. Writes are synchronous (one JSON line
 * each), so a crash loses nothing already logged.
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

  write(chunk: string): boolean {
    const bytes = Buffer.byteLength(chunk);
    if (this.#size > 0 && this.#size + bytes > this.#maxBytes) this.#rotate();
    writeSync(this.#fd, chunk);
    this.#size += bytes;
    return true;
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
