import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReleaseManifest } from '@reach/protocol';
import { sha256Sums } from '@reach/protocol';

export interface FakeRelease {
  dir: string;
  manifest: ReleaseManifest;
  bodies: Record<string, Buffer>;
}

/** A dist/release-shaped directory with small made-up artifacts (real manifest and sums). */
export async function fakeRelease(version: string, root?: string): Promise<FakeRelease> {
  const dir = join(root ?? (await mkdtemp(join(tmpdir(), 'reach-rel-'))), version);
  await mkdir(dir, { recursive: true });
  const bodies: Record<string, Buffer> = {
    'reach-linux-x86_64': Buffer.from(`\x7fELF client ${version} `.repeat(5000)),
    'reach-windows-x86_64.exe': Buffer.from(`MZ client ${version} `.repeat(300)),
    'reach-linux-x86_64.tar.gz': Buffer.from(`archive ${version}`),
  };
  const meta = {
    'reach-linux-x86_64': { kind: 'executable', platform: 'linux', aliases: ['reach-linux'] },
    'reach-windows-x86_64.exe': { kind: 'executable', platform: 'windows', aliases: ['reach-windows.exe'] },
    'reach-linux-x86_64.tar.gz': { kind: 'archive', platform: 'linux', aliases: [] },
  } as const;
  const artifacts = [];
  for (const [name, body] of Object.entries(bodies)) {
    await writeFile(join(dir, name), body);
    const m = meta[name as keyof typeof meta];
    artifacts.push({
      name,
      kind: m.kind,
      bin: 'reach' as const,
      platform: m.platform,
      arch: 'x86_64' as const,
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      aliases: [...m.aliases],
    });
  }
  const manifest: ReleaseManifest = { version, node: '24.21.0', artifacts };
  await writeFile(join(dir, 'release.json'), JSON.stringify(manifest));
  await writeFile(join(dir, 'SHA256SUMS'), sha256Sums(manifest));
  return { dir, manifest, bodies };
}
