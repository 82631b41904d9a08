import { jsonBytes } from '../agent/handlers/encode-page.ts';
import type { OutputStore, StoredOutput, StreamName } from './output-store.ts';

/** What run_command returns of the two streams once shaped to the result cap. */
export interface ShapedOutput {
  stdout: string;
  stderr: string;
  /** The text returned is not the whole output. */
  truncated: boolean;
  stdout_bytes: number;
  stderr_bytes: number;
  /** Where the whole output is kept (read_output), when truncated and the store took it. */
  output_id?: string;
}

/**
 * One stream of a running command: its first `keep` bytes and its last `keep` bytes in memory
 * (2 × keep at most, however much the command writes) and, once it outgrows `keep`, every byte
 * spooled to the command's stored output.
 */
export class StreamCapture {
  readonly #keep: number;
  readonly #spool: (chunk: Buffer) => void;
  readonly #head: Buffer[] = [];
  #headSize = 0;
  #tail: Buffer[] = [];
  #tailSize = 0;
  #spooling = false;
  total = 0;

  constructor(keep: number, spool: (chunk: Buffer) => void) {
    this.#keep = keep;
    this.#spool = spool;
  }

  /** True once more was written than `keep`: the whole stream can no longer be returned. */
  get truncated(): boolean {
    return this.total > this.#keep;
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    if (!this.#spooling && this.total > this.#keep) {
      this.#spooling = true;
      this.#spool(Buffer.concat(this.#head, this.#headSize));
    }
    if (this.#spooling) this.#spool(chunk);
    const room = this.#keep - this.#headSize;
    const toHead = Math.max(0, Math.min(room, chunk.length));
    if (toHead > 0) {
      this.#head.push(chunk.subarray(0, toHead));
      this.#headSize += toHead;
    }
    if (toHead === chunk.length) return;
    this.#tail.push(chunk.subarray(toHead));
    this.#tailSize += chunk.length - toHead;
    while (this.#tail.length > 1 && this.#tailSize - (this.#tail[0]?.length ?? 0) >= this.#keep) {
      this.#tailSize -= this.#tail.shift()?.length ?? 0;
    }
  }

  /** Whether the whole stream was spooled to the store already. */
  get spooled(): boolean {
    return this.#spooling;
  }

  /** The first bytes (all of them when not truncated). */
  head(): Buffer {
    return Buffer.concat(this.#head, this.#headSize);
  }

  /** The last bytes after the head (at most `keep`). */
  tail(): Buffer {
    const all = Buffer.concat(this.#tail, this.#tailSize);
    return all.subarray(Math.max(0, all.length - this.#keep));
  }

  /** The head's text: what runShell reports (run-command reshapes it with the other stream). */
  text(): string {
    return this.head().toString('utf8');
  }
}

/** Start of a UTF-8 character at or after `i` (skips continuation bytes 10xxxxxx, at most 3). */
function charStart(b: Buffer, i: number): number {
  let j = i;
  while (j < b.length && j - i < 3 && ((b[j] ?? 0) & 0xc0) === 0x80) j += 1;
  return j;
}

/** End of the last whole UTF-8 character at or before `i`. */
function charEnd(b: Buffer, i: number): number {
  let j = i;
  while (j > 0 && i - j < 3 && ((b[j] ?? 0) & 0xc0) === 0x80) j -= 1;
  return j;
}

/**
 * The stream cut to `budget` JSON bytes: its head, a marker line naming what was left out and
 * where the whole is, and its tail, in about equal parts.
 */
export function headAndTail(s: StreamCapture, stream: StreamName, budget: number, outputId?: string): string {
  const head = s.head();
  // Until the stream outgrows the head the head holds it all, and the tail is cut from its end.
  const tail = s.total > head.length ? s.tail() : head;
  const marker = (omitted: number) =>
    `\n... [reach: ${omitted} of ${s.total} bytes omitted here; ${
      outputId ? `read_output output_id=${outputId} stream=${stream} pages the whole stream` : 'not stored'
    }] ...\n`;
  let room = Math.max(0, budget - jsonBytes(marker(s.total)));
  for (;;) {
    let h = charEnd(head, Math.min(head.length, Math.floor(room / 2)));
    let t = Math.min(tail.length, Math.floor(room / 2));
    if (tail === head) {
      h = Math.min(h, head.length);
      t = Math.min(t, head.length - h);
    }
    const tailStart = charStart(tail, tail.length - t);
    const text =
      head.subarray(0, h).toString('utf8') +
      marker(s.total - h - (tail.length - tailStart)) +
      tail.subarray(tailStart).toString('utf8');
    const size = jsonBytes(text);
    // JSON escaping (control bytes become \u00XX) can inflate the text: shrink until it fits.
    if (size <= budget || room === 0) return text;
    room = Math.floor(room * (budget / size) * 0.95);
  }
}

/**
 * Captures both streams of one command and shapes them to the result cap: whole when both fit,
 * else each stream gets its share (a small one keeps all it needs, the other the rest) as head
 * and tail, and the whole output goes to the store under an `output_id`.
 */
export class CommandCapture {
  readonly stdout: StreamCapture;
  readonly stderr: StreamCapture;
  readonly #budget: number;
  readonly #store: OutputStore | undefined;
  #entry: StoredOutput | undefined;
  #noRoom = false;

  /** `budget` is the result cap in JSON bytes; `store` absent: nothing is kept past the cap. */
  constructor(budget: number, store: OutputStore | undefined) {
    this.#budget = budget;
    this.#store = store;
    this.stdout = new StreamCapture(budget, (c) => this.#entryFor()?.append('stdout', c));
    this.stderr = new StreamCapture(budget, (c) => this.#entryFor()?.append('stderr', c));
  }

  #entryFor(): StoredOutput | undefined {
    if (this.#entry === undefined && !this.#noRoom && this.#store !== undefined) {
      this.#entry = this.#store.create();
      this.#noRoom = this.#entry === undefined;
    }
    return this.#entry;
  }

  /** Shapes the captured output; call once, after the command ended. */
  finish(): ShapedOutput {
    const need = (s: StreamCapture) => (s.truncated ? Number.POSITIVE_INFINITY : jsonBytes(s.text()));
    const needOut = need(this.stdout);
    const needErr = need(this.stderr);
    const sizes = { stdout_bytes: this.stdout.total, stderr_bytes: this.stderr.total };
    if (needOut + needErr <= this.#budget) {
      this.#entry?.finish();
      return { stdout: this.stdout.text(), stderr: this.stderr.text(), truncated: false, ...sizes };
    }
    // Streams that fit in memory were not spooled: store them now, so the output is whole.
    const entry = this.#entryFor();
    for (const [name, s] of [
      ['stdout', this.stdout],
      ['stderr', this.stderr],
    ] as const) {
      if (!s.spooled) entry?.append(name, s.head());
    }
    entry?.finish();
    const half = Math.floor(this.#budget / 2);
    const outShare = needErr <= half ? this.#budget - needErr : Math.max(half, this.#budget - needErr);
    const errShare = this.#budget - Math.min(outShare, needOut);
    const id = entry?.id;
    const shape = (s: StreamCapture, name: StreamName, share: number, needed: number) =>
      needed <= share ? s.text() : headAndTail(s, name, share, id);
    return {
      stdout: shape(this.stdout, 'stdout', outShare, needOut),
      stderr: shape(this.stderr, 'stderr', errShare, needErr),
      truncated: true,
      ...sizes,
      ...(id === undefined ? {} : { output_id: id }),
    };
  }
}
