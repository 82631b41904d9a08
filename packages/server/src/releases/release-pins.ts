import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RELEASE_VERSION, ReachError } from '@reach/protocol';
import { writeFileReplacing } from '@reach/protocol/node';
import { z } from 'zod';

/**
 * `<releases>/pins.json`: versions clients are held at, by client UUID or by tag. A rollout of
 * another version skips a pinned client (`pinned to <v>`); a rollout of its pinned version
 * updates it as usual. A client's own pin wins over its tags'; of several tag pins, the lowest
 * tag name in sort order wins, so the choice is the same on every read.
 */
export const PINS_FILE = 'pins.json';
const Version = z.string().regex(RELEASE_VERSION);
const PinsSchema = z.object({
  clients: z.record(z.uuid(), Version).default({}),
  tags: z.record(z.string().min(1).max(64), Version).default({}),
});
export type ReleasePins = z.infer<typeof PinsSchema>;

export async function readPins(releasesDir: string): Promise<ReleasePins> {
  const file = join(releasesDir, PINS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { clients: {}, tags: {} };
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = PinsSchema.safeParse(json);
  if (!parsed.success) {
    throw new ReachError('INTERNAL_ERROR', `${file} is damaged: fix or remove it, then pin again`);
  }
  return parsed.data;
}

/** The version `client` is pinned to (its own pin, else its tags'), if any. */
export function pinOf(
  pins: ReleasePins,
  client: { uuid: string; tags: readonly string[] },
): string | undefined {
  const own = pins.clients[client.uuid];
  if (own !== undefined) return own;
  const tag = [...client.tags].sort().find((t) => pins.tags[t] !== undefined);
  return tag === undefined ? undefined : pins.tags[tag];
}

/**
 * Pins (or with `version` null unpins) one client UUID or tag; returns the version pinned
 * before. The file is replaced whole (temporary file, fsync, rename), as channels.json is.
 */
export async function setPin(
  releasesDir: string,
  target: { kind: 'clients' | 'tags'; key: string },
  version: string | null,
): Promise<string | undefined> {
  const pins = await readPins(releasesDir);
  const before = pins[target.kind][target.key];
  if (version === null) delete pins[target.kind][target.key];
  else pins[target.kind][target.key] = version;
  const checked = PinsSchema.parse(pins);
  // A pin may come before any release is installed.
  await mkdir(releasesDir, { recursive: true });
  await writeFileReplacing(join(releasesDir, PINS_FILE), `${JSON.stringify(checked, null, 2)}\n`, 0o644);
  return before;
}
