import { createReadStream } from 'node:fs';
import { lstat, open, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { ReachError } from '@reach/protocol';
import { z } from 'zod';

/** A recording's id: what TerminalService makes (`<ms since epoch>-<8 hex>`), nothing path-like. */
export const RecordingId = z.string().regex(/^[0-9]{13}-[0-9a-f]{8}$/, 'not a recording id');
const ClientUuid = z.string().regex(/^[0-9a-f-]{36}$/i, 'not a client uuid');

export interface RecordingInfo {
  id: string;
  started_at: string;
  /** null while the session is still open. */
  ended_at: string | null;
  bytes: number;
  caller: string | null;
}

/** The first line is the header; headers are ~200 bytes. */
const HEADER_READ_BYTES = 4096;

/** Terminal recordings under `<data-dir>/recordings/<client uuid>/<id>.cast`. */
export class Recordings {
  readonly #root: string;
  readonly #live: (id: string) => boolean;

  constructor(root: string, live: (id: string) => boolean = () => false) {
    this.#root = resolve(root);
    this.#live = live;
  }

  /** Where a new recording goes. */
  fileFor(uuid: string, id: string): string {
    return this.#resolve(uuid, id);
  }

  /** Newest first; a client with none (or unknown) has an empty list. */
  async list(uuid: string): Promise<RecordingInfo[]> {
    const dir = this.#clientDir(uuid);
    const names = await readdir(dir).catch(() => [] as string[]);
    const ids = names
      .filter((n) => n.endsWith('.cast'))
      .map((n) => n.slice(0, -5))
      .filter((id) => RecordingId.safeParse(id).success);
    const infos = await Promise.all(ids.map((id) => this.#info(uuid, id).catch(() => undefined)));
    return infos.filter((i): i is RecordingInfo => i !== undefined).sort((a, b) => b.id.localeCompare(a.id));
  }

  /**
   * Deletes finished recordings last written before `before` (ms since epoch) and the client
   * folders left empty; a session still open is kept whatever its age. Returns how many went.
   * Only names that are recording ids are touched, and symlinks are never followed (lstat).
   */
  async prune(before: number): Promise<number> {
    const dirs = await readdir(this.#root, { withFileTypes: true }).catch(() => []);
    let removed = 0;
    for (const d of dirs) {
      if (!d.isDirectory() || !ClientUuid.safeParse(d.name).success) continue;
      const dir = this.#inside(join(this.#root, d.name));
      const names = await readdir(dir).catch(() => [] as string[]);
      let kept = 0;
      for (const name of names) {
        const id = name.endsWith('.cast') ? name.slice(0, -5) : '';
        if (!RecordingId.safeParse(id).success || this.#live(id)) {
          kept++;
          continue;
        }
        const file = join(dir, name);
        const s = await lstat(file).catch(() => undefined);
        const gone =
          s?.isFile() &&
          s.mtimeMs < before &&
          (await unlink(file).then(
            () => true,
            () => false,
          ));
        if (gone) removed++;
        else kept++;
      }
      if (kept === 0) await rmdir(dir).catch(() => {});
    }
    return removed;
  }

  /** The file's bytes, streamed; FILE_NOT_FOUND for an id that has no recording. */
  async read(uuid: string, id: string): Promise<{ size: number; stream: Readable }> {
    const file = this.#resolve(uuid, id);
    const s = await stat(file).catch(() => undefined);
    if (!s?.isFile()) throw new ReachError('FILE_NOT_FOUND', `no recording ${id} for client ${uuid}`);
    return { size: s.size, stream: createReadStream(file, { end: Math.max(0, s.size - 1) }) };
  }

  async #info(uuid: string, id: string): Promise<RecordingInfo> {
    const file = this.#resolve(uuid, id);
    const s = await stat(file);
    const fh = await open(file, 'r');
    let caller: string | null = null;
    let started = Number(id.split('-')[0]);
    try {
      const buf = Buffer.alloc(HEADER_READ_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.byteLength, 0);
      const first = buf.subarray(0, bytesRead).toString('utf8').split('\n')[0] ?? '';
      const header = JSON.parse(first) as { timestamp?: unknown; reach_caller?: unknown };
      if (typeof header.reach_caller === 'string') caller = header.reach_caller;
      if (typeof header.timestamp === 'number') started = header.timestamp * 1000;
    } catch {
      // a damaged header still lists, without its caller
    } finally {
      await fh.close();
    }
    return {
      id,
      started_at: new Date(started).toISOString(),
      ended_at: this.#live(id) ? null : s.mtime.toISOString(),
      bytes: s.size,
      caller,
    };
  }

  #clientDir(uuid: string): string {
    const parsed = ClientUuid.safeParse(uuid);
    if (!parsed.success) throw new ReachError('INVALID_ARGUMENT', `not a client uuid: ${uuid.slice(0, 64)}`);
    return this.#inside(join(this.#root, parsed.data.toLowerCase()));
  }

  /** Validates both names, then resolves the path and checks it is under the root. */
  #resolve(uuid: string, id: string): string {
    const parsed = RecordingId.safeParse(id);
    if (!parsed.success) throw new ReachError('INVALID_ARGUMENT', `not a recording id: ${id.slice(0, 64)}`);
    return this.#inside(join(this.#clientDir(uuid), `${parsed.data}.cast`));
  }

  #inside(path: string): string {
    const full = resolve(path);
    if (!full.startsWith(this.#root + sep))
      throw new ReachError('PATH_DENIED', 'recording path escapes the recordings directory');
    return full;
  }
}
