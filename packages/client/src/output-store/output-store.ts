import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ReachError } from '@reach/protocol';

export type StreamName = 'stdout' | 'stderr';

export interface OutputStoreOptions {
  /** Directory owned by the store (`<config dir>/outputs`); emptied by start(). */
  dir: string;
  /** How long a finished output stays readable, in ms (default 1 h). */
  ttlMs?: number;
  /** Bytes all stored outputs may take together (default 256 MiB); the oldest go first. */
  maxTotalBytes?: number;
  /** Bytes kept of one stream (default 64 MiB); past it the stream is marked incomplete. */
  maxStreamBytes?: number;
  /** Outputs kept at once (default 256). */
  maxEntries?: number;
  /** Wall clock in ms; injected in tests. */
  now?: () => number;
}

export const OUTPUT_STORE_DEFAULTS = {
  ttlMs: 60 * 60 * 1000,
  maxTotalBytes: 256 * 1024 * 1024,
  maxStreamBytes: 64 * 1024 * 1024,
  maxEntries: 256,
} as const;

interface StreamFile {
  fd: number | undefined;
  size: number;
  complete: boolean;
}

/**
 * One command's full output on disk, written while the command runs. Writes are synchronous: a
 * chunk is at most a pipe read (64 KiB) into the page cache, and a stream stops being written at
 * `maxStreamBytes`, so the event loop is held for microseconds per chunk and never unboundedly.
 */
export class StoredOutput {
  readonly id: string;
  finishedAt: number | undefined;
  readonly streams: Record<StreamName, StreamFile> = {
    stdout: { fd: undefined, size: 0, complete: true },
    stderr: { fd: undefined, size: 0, complete: true },
  };
  readonly #store: OutputStore;

  constructor(id: string, store: OutputStore) {
    this.id = id;
    this.#store = store;
  }

  /** Appends a chunk of `stream`; past the caps the rest is dropped and the stream marked incomplete. */
  append(stream: StreamName, chunk: Buffer): void {
    const s = this.streams[stream];
    if (!s.complete || chunk.length === 0) return;
    const room = this.#store.reserve(this, Math.min(chunk.length, this.#store.maxStreamBytes - s.size));
    if (room < chunk.length) s.complete = false;
    if (room === 0) return;
    try {
      s.fd ??= openSync(this.#store.pathOf(this.id, stream), 'wx', 0o600);
      let done = 0;
      while (done < room) done += writeSync(s.fd, chunk, done, room - done);
      s.size += room;
    } catch {
      // A full disk or a removed directory costs the stored copy, never the command.
      this.#store.release(room);
      s.complete = false;
    }
  }

  /** Closes the files; from now on the output is readable and its TTL runs. */
  finish(): void {
    for (const s of Object.values(this.streams)) {
      if (s.fd !== undefined) closeSync(s.fd);
      s.fd = undefined;
    }
    this.finishedAt = this.#store.now();
  }

  get bytes(): number {
    return this.streams.stdout.size + this.streams.stderr.size;
  }
}

/**
 * Full outputs of commands whose result was cut to the result cap, kept on the client for
 * read_output: bounded by a TTL, a total size, a per-stream size and a count, oldest first out.
 * Nothing survives a restart (start() empties the directory). Ids are random UUIDs; the files
 * are 0600 in a 0700 directory.
 */
export class OutputStore {
  readonly dir: string;
  readonly ttlMs: number;
  readonly maxTotalBytes: number;
  readonly maxStreamBytes: number;
  readonly maxEntries: number;
  readonly now: () => number;
  readonly #entries = new Map<string, StoredOutput>();
  #total = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: OutputStoreOptions) {
    this.dir = options.dir;
    this.ttlMs = options.ttlMs ?? OUTPUT_STORE_DEFAULTS.ttlMs;
    this.maxTotalBytes = options.maxTotalBytes ?? OUTPUT_STORE_DEFAULTS.maxTotalBytes;
    this.maxStreamBytes = options.maxStreamBytes ?? OUTPUT_STORE_DEFAULTS.maxStreamBytes;
    this.maxEntries = options.maxEntries ?? OUTPUT_STORE_DEFAULTS.maxEntries;
    this.now = options.now ?? Date.now;
  }

  /** Empties (or creates) the directory and starts the expiry sweep. */
  async start(): Promise<void> {
    // Removed and made afresh: a symlink put there is removed itself (rm does not follow it), and
    // the directory is 0700 whatever it was before.
    await rm(this.dir, { force: true, recursive: true });
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Expired outputs are also dropped on every create/read; the timer frees disk on an idle client.
    this.#sweeper = setInterval(() => this.sweep(), Math.max(1000, this.ttlMs / 4));
    this.#sweeper.unref();
  }

  close(): void {
    clearInterval(this.#sweeper);
  }

  pathOf(id: string, stream: StreamName): string {
    return join(this.dir, `${id}.${stream}`);
  }

  /** A new, empty output; undefined when the count cap is reached by outputs still being written. */
  create(): StoredOutput | undefined {
    this.sweep();
    for (const e of this.#entries.values()) {
      if (this.#entries.size < this.maxEntries) break;
      if (e.finishedAt !== undefined) this.#drop(e);
    }
    if (this.#entries.size >= this.maxEntries) return undefined;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const entry = new StoredOutput(randomUUID(), this);
    this.#entries.set(entry.id, entry);
    return entry;
  }

  /** Room for `want` more bytes of `entry`, making it by dropping the oldest finished outputs. */
  reserve(entry: StoredOutput, want: number): number {
    if (want <= 0) return 0;
    for (const e of this.#entries.values()) {
      if (this.#total + want <= this.maxTotalBytes) break;
      if (e !== entry && e.finishedAt !== undefined) this.#drop(e);
    }
    const room = Math.max(0, Math.min(want, this.maxTotalBytes - this.#total));
    this.#total += room;
    return room;
  }

  /** Gives back bytes reserved but not written. */
  release(bytes: number): void {
    this.#total -= bytes;
  }

  /** Drops the outputs past their TTL. */
  sweep(): void {
    const now = this.now();
    for (const e of [...this.#entries.values()]) {
      if (e.finishedAt !== undefined && now - e.finishedAt >= this.ttlMs) this.#drop(e);
    }
  }

  /** Bytes [offset, offset + length) of a finished output's stream, and the stream's stored size. */
  async read(
    id: string,
    stream: StreamName,
    offset: number,
    length: number,
  ): Promise<{ bytes: Buffer; size: number; complete: boolean }> {
    this.sweep();
    const entry = this.#entries.get(id);
    if (entry?.finishedAt === undefined) {
      throw new ReachError('FILE_NOT_FOUND', `no stored output ${id} (expired, evicted or never stored)`, {
        details: { output_id: id, ttl_s: this.ttlMs / 1000 },
        recoveryHint: 'run the command again; stored outputs last an hour and 256 MiB in all',
      });
    }
    const s = entry.streams[stream];
    const want = Math.max(0, Math.min(length, s.size - offset));
    if (want === 0) return { bytes: Buffer.alloc(0), size: s.size, complete: s.complete };
    // The file may be dropped meanwhile: an open descriptor still reads it.
    const fh = await open(this.pathOf(id, stream), 'r');
    try {
      const bytes = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(bytes, got, want - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return { bytes: bytes.subarray(0, got), size: s.size, complete: s.complete };
    } finally {
      await fh.close();
    }
  }

  /** Bytes held by all outputs (tests and logs). */
  get totalBytes(): number {
    return this.#total;
  }

  get count(): number {
    return this.#entries.size;
  }

  #drop(e: StoredOutput): void {
    this.#entries.delete(e.id);
    this.#total -= e.bytes;
    for (const stream of ['stdout', 'stderr'] as const) {
      const s = e.streams[stream];
      if (s.fd !== undefined) closeSync(s.fd);
      s.fd = undefined;
      rmSync(this.pathOf(e.id, stream), { force: true });
    }
  }
}
