import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RELEASE_VERSION, ReachError } from '@reach/protocol';
import { writeFileReplacing } from '@reach/protocol/node';
import { z } from 'zod';

/** The channels a release is published on; a client follows one (stable unless told). */
export const RELEASE_CHANNELS = ['stable', 'beta'] as const;
export const ReleaseChannelSchema = z.enum(RELEASE_CHANNELS);
export type ReleaseChannel = z.infer<typeof ReleaseChannelSchema>;

/** `<releases>/channels.json`: which version each channel points at; a channel may be unset. */
export const CHANNELS_FILE = 'channels.json';
const ChannelsSchema = z.partialRecord(ReleaseChannelSchema, z.string().regex(RELEASE_VERSION));
export type ReleaseChannels = z.infer<typeof ChannelsSchema>;

/** The channels file, `{}` when none was written yet. */
export async function readChannels(releasesDir: string): Promise<ReleaseChannels> {
  const file = join(releasesDir, CHANNELS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = ChannelsSchema.safeParse(json);
  if (!parsed.success) {
    throw new ReachError('INTERNAL_ERROR', `${file} is damaged: fix or remove it, then publish again`);
  }
  return parsed.data;
}

/**
 * Points `channel` at `version` and returns the version it pointed at before. The file is replaced
 * whole (temporary file, fsync, rename), so a reader sees the old channels or the new, never half.
 * Two publishes at the same moment may lose one's change (read-modify-write, no lock): publishing
 * is an operator's command, one at a time.
 */
export async function setChannel(
  releasesDir: string,
  channel: ReleaseChannel,
  version: string,
): Promise<string | undefined> {
  const channels = await readChannels(releasesDir);
  const before = channels[channel];
  channels[channel] = version;
  const ordered = Object.fromEntries(
    RELEASE_CHANNELS.flatMap((c) => (channels[c] ? [[c, channels[c]]] : [])),
  );
  await writeFileReplacing(join(releasesDir, CHANNELS_FILE), `${JSON.stringify(ordered, null, 2)}\n`, 0o644);
  return before;
}
