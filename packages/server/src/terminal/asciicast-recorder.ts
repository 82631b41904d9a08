import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AsciicastHeader {
  width: number;
  height: number;
  /** Unix time the session started, in seconds. */
  timestamp: number;
  env: { TERM: string; SHELL: string };
  /** Who opened the terminal (an extra header key; asciicast players ignore unknown keys). */
  reach_caller: string;
}

/**
 * Writes one terminal session as an asciicast v2 file: a JSON header line, then one JSON array per
 * event — `[t, "o", text]` for output and `[t, "r", "COLSxROWS"]` for a resize, t in seconds
 * since the start. Input is deliberately not recorded: what a person types includes passwords at
 * `sudo` and `ssh` prompts (which the terminal does not echo, so they never appear as output).
 * Output bytes are decoded as a UTF-8 stream, so a character split across two chunks is kept.
 */
export class AsciicastRecorder {
  readonly #out: WriteStream;
  readonly #started: number;
  readonly #decoder = new TextDecoder('utf-8');
  readonly #maxBytes: number;
  #closed = false;
  #truncated = false;
  #bytes = 0;

  private constructor(out: WriteStream, started: number, maxBytes: number) {
    this.#out = out;
    this.#started = started;
    this.#maxBytes = maxBytes;
  }

  /** Creates `file` (and its directory, mode 0700; the file 0600) and writes the header. */
  static async create(
    file: string,
    header: AsciicastHeader,
    now = performance.now(),
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<AsciicastRecorder> {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
    await once(out, 'open');
    const rec = new AsciicastRecorder(out, now, maxBytes);
    rec.#line({ version: 2, ...header });
    return rec;
  }

  /** Bytes written so far (header included). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The size cap was reached: a marker event says so and nothing more is recorded. */
  get truncated(): boolean {
    return this.#truncated;
  }

  output(data: Uint8Array, now = performance.now()): void {
    const text = this.#decoder.decode(data, { stream: true });
    if (text.length > 0) this.#event(now, 'o', text);
  }

  resize(cols: number, rows: number, now = performance.now()): void {
    this.#event(now, 'r', `${cols}x${rows}`);
  }

  /** Flushes a trailing partial character and closes the file; resolves once it is on disk. */
  async close(now = performance.now()): Promise<void> {
    if (this.#closed) return;
    const tail = this.#decoder.decode();
    if (tail.length > 0) this.#event(now, 'o', tail);
    this.#closed = true;
    await new Promise<void>((resolve) => this.#out.end(resolve));
  }

  #event(now: number, kind: 'o' | 'r', data: string): void {
    if (this.#closed || this.#truncated) return;
    // Microsecond resolution, as asciinema writes it.
    const t = Math.round(Math.max(0, now - this.#started) * 1000) / 1e6;
    const text = `${JSON.stringify([t, kind, data])}\n`;
    // A session that prints without end (`yes`, a log tail) must not fill the server's disk: past
    // the cap one marker event (asciicast's "m") says where recording stopped; the session goes on.
    if (this.#bytes + Buffer.byteLength(text) > this.#maxBytes) {
      this.#truncated = true;
      this.#line([t, 'm', `reach: recording stopped at ${this.#maxBytes} bytes; the session went on`]);
      return;
    }
    this.#write(text);
  }

  #line(value: unknown): void {
    this.#write(`${JSON.stringify(value)}\n`);
  }

  #write(text: string): void {
    this.#bytes += Buffer.byteLength(text);
    this.#out.write(text);
  }
}
