/**
 * last_seen writes at fleet size, in-process against a real SQLite file (WAL, synchronous=NORMAL
 * as the server opens it): one transaction per client, as every disconnect wrote before batching,
 * against the one batch LastSeenBatch writes. Times in ms.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClientStore } from '../../packages/server/src/db/client-store.ts';
import { openDatabase } from '../../packages/server/src/db/database.ts';
import { MIGRATIONS } from '../../packages/server/src/db/migrations/index.ts';

/** last_seen of n clients written one transaction each (as before batching) and in one batch. */
export async function lastSeenWrites(n: number): Promise<{ perRowMs: number; batchMs: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'reach-bench-lastseen-'));
  const db = openDatabase(join(dir, 'reach.db'), MIGRATIONS);
  try {
    const store = new ClientStore(db);
    const uuids = Array.from(
      { length: n },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    db.exec('BEGIN');
    for (const uuid of uuids) {
      store.insert(
        uuid,
        { public_key: 'ssh-ed25519 x', fingerprint: 'SHA256:x' },
        {
          display_name: uuid,
          purpose: '',
          tags: [],
          capabilities: [],
          connection: {
            client_id: uuid,
            hostname: 'h',
            platform: 'linux',
            username: 'u',
            connected_at: '2026-01-01T00:00:00.000Z',
          },
        },
      );
    }
    db.exec('COMMIT');
    const t0 = performance.now();
    for (const uuid of uuids) store.touchLastSeen(uuid, '2026-02-01T00:00:00.000Z');
    const perRowMs = performance.now() - t0;
    const t1 = performance.now();
    store.touchLastSeenMany(uuids.map((u) => [u, '2026-03-01T00:00:00.000Z'] as const));
    return { perRowMs, batchMs: performance.now() - t1 };
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}
