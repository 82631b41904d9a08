import { ReachError } from '@reach/protocol';
import { type MinisignPublicKey, verifyReleaseManifest } from '@reach/protocol/node';
import { type ReleaseChannel, readChannels } from './release-channels.ts';
import { ReleaseStore } from './release-store.ts';
import { compareVersions } from './release-version.ts';

/** One installed release as `reach-server release list` shows it. */
export interface ReleaseListing {
  version: string;
  channels: ReleaseChannel[];
  /**
   * `verified`: signed by the configured key; `unsigned`; `unchecked`: signed, no key configured
   * to check it; `invalid`: a signature that does not hold (the reason in `problem`).
   */
  signature: 'verified' | 'unsigned' | 'unchecked' | 'invalid';
  keyId?: string;
  problem?: string;
  artifacts: number;
}

/** Every installed release, highest version first, with its channels and signature state. */
export async function listReleases(
  releasesDir: string,
  publicKey: MinisignPublicKey | undefined,
): Promise<ReleaseListing[]> {
  const store = new ReleaseStore(releasesDir);
  const channels = await readChannels(releasesDir);
  const versions = (await store.versions()).sort(compareVersions).reverse();
  const rows: ReleaseListing[] = [];
  for (const version of versions) {
    const on = (Object.keys(channels) as ReleaseChannel[]).filter((c) => channels[c] === version);
    let file: Awaited<ReturnType<ReleaseStore['manifestFile']>>;
    try {
      file = await store.manifestFile(version);
    } catch (err) {
      const problem = err instanceof ReachError ? err.message : String(err);
      rows.push({ version, channels: on, signature: 'invalid', problem, artifacts: 0 });
      continue;
    }
    const row: ReleaseListing = {
      version,
      channels: on,
      signature: 'unsigned',
      artifacts: file.manifest.artifacts.length,
    };
    if (file.signature !== undefined && publicKey === undefined) row.signature = 'unchecked';
    if (file.signature !== undefined && publicKey !== undefined) {
      try {
        row.keyId = verifyReleaseManifest(file.bytes, file.signature, publicKey).keyId;
        row.signature = 'verified';
      } catch (err) {
        row.signature = 'invalid';
        row.problem = err instanceof ReachError ? err.message : String(err);
      }
    }
    rows.push(row);
  }
  return rows;
}

/** The plain-text table: one line per release. */
export function formatListing(rows: readonly ReleaseListing[]): string {
  if (rows.length === 0) return 'no releases installed\n';
  const say = (r: ReleaseListing): string => {
    if (r.signature === 'verified') return `signed by ${r.keyId} (verified)`;
    if (r.signature === 'unchecked') return 'signed (not checked: no release public key configured)';
    if (r.signature === 'invalid') return `INVALID: ${r.problem}`;
    return 'unsigned';
  };
  const cells = rows.map((r) => [r.version, r.channels.join(',') || '-', say(r)] as const);
  const w0 = Math.max(7, ...cells.map((c) => c[0].length));
  const w1 = Math.max(8, ...cells.map((c) => c[1].length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}\n`;
  return line('VERSION', 'CHANNELS', 'SIGNATURE') + cells.map((c) => line(...c)).join('');
}
