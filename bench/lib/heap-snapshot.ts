/**
 * Heap snapshots of another Node process through its inspector (started with
 * `--inspect=127.0.0.1:0`), written to a `.heapsnapshot` file that Chrome DevTools opens, plus a
 * summary of where the bytes are so two snapshots of one process can be compared in a terminal.
 */
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectGarbage } from './inspector-gc.ts';

/**
 * Writes a heap snapshot of the process behind `url` to `file`. A full collection and a second's
 * pause come first: objects kept only by a FinalizationRegistry entry (undici's Request holds its
 * signal that way) are let go by the registry's cleanup task, which runs after a collection, so a
 * snapshot taken straight after the collection it forces still shows one per request since the
 * previous one (+4,188 AbortSignal, WeakRef and Listener in a 1-minute soak).
 */
export async function writeHeapSnapshot(url: string, file: string, timeoutMs = 120_000): Promise<void> {
  await collectGarbage(url);
  await sleep(1000);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const out = createWriteStream(file);
    const timer = setTimeout(() => finish(new Error(`no snapshot within ${timeoutMs} ms`)), timeoutMs);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      ws.close();
      out.end(() => (err ? reject(err) : resolve()));
    };
    ws.addEventListener('open', () =>
      ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.takeHeapSnapshot', params: {} })),
    );
    ws.addEventListener('message', (event) => {
      const msg = JSON.parse(String(event.data)) as {
        id?: number;
        method?: string;
        params?: { chunk: string };
        error?: { message: string };
      };
      if (msg.method === 'HeapProfiler.addHeapSnapshotChunk') out.write(msg.params?.chunk ?? '');
      else if (msg.id === 1) finish(msg.error ? new Error(msg.error.message) : undefined);
    });
    ws.addEventListener('error', () => finish(new Error(`inspector WebSocket ${url} failed`)));
  });
}

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Bytes and counts per kind of heap object ("object:Foo", "string", "native:…"). */
export async function summarizeHeapSnapshot(
  file: string,
): Promise<Map<string, { bytes: number; count: number }>> {
  const s = JSON.parse(await readFile(file, 'utf8')) as RawSnapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
  ];
  const byKind = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    const named = type === 'object' || type === 'native' || type === 'hidden' || type === 'closure';
    const kind = named ? `${type}:${s.strings[s.nodes[i + iName]!]!.slice(0, 80)}` : type;
    const entry = byKind.get(kind) ?? { bytes: 0, count: 0 };
    entry.bytes += s.nodes[i + iSize]!;
    entry.count += 1;
    byKind.set(kind, entry);
  }
  return byKind;
}

/** Lines naming the kinds that grew most in count or bytes from `before` to `after`. */
export function heapGrowth(
  before: Map<string, { bytes: number; count: number }>,
  after: Map<string, { bytes: number; count: number }>,
  top = 12,
): string[] {
  const rows = [...after].map(([kind, a]) => {
    const b = before.get(kind) ?? { bytes: 0, count: 0 };
    return { kind, dBytes: a.bytes - b.bytes, dCount: a.count - b.count, a };
  });
  const total = (m: Map<string, { bytes: number }>) => [...m.values()].reduce((t, e) => t + e.bytes, 0);
  const mib = (n: number) => (n / 1048576).toFixed(2);
  return [
    `heap ${mib(total(before))} → ${mib(total(after))} MiB`,
    ...rows
      .sort((x, y) => y.dBytes - x.dBytes)
      .slice(0, top)
      .map(
        (r) =>
          `  ${r.dBytes >= 0 ? '+' : ''}${mib(r.dBytes)} MiB  ${r.dCount >= 0 ? '+' : ''}${r.dCount} × ${r.kind}`,
      ),
  ];
}
