import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CHANNELS_FILE, readChannels, setChannel } from './release-channels.ts';

const root = await mkdtemp(join(tmpdir(), 'reach-channels-'));
after(() => rm(root, { recursive: true, force: true }));

test('channels start empty; setChannel returns the old version and leaves no temporary file', async () => {
  assert.deepEqual(await readChannels(root), {});
  assert.equal(await setChannel(root, 'beta', '1.1.0-rc.1'), undefined);
  assert.equal(await setChannel(root, 'stable', '1.0.0'), undefined);
  assert.equal(await setChannel(root, 'beta', '1.1.0'), '1.1.0-rc.1');
  assert.deepEqual(await readChannels(root), { stable: '1.0.0', beta: '1.1.0' });
  assert.deepEqual(await readdir(root), [CHANNELS_FILE]);
  // stable first whatever the order of the writes: a diff of the file reads the same way each time.
  assert.equal(
    await readFile(join(root, CHANNELS_FILE), 'utf8'),
    '{\n  "stable": "1.0.0",\n  "beta": "1.1.0"\n}\n',
  );
});

test('a damaged channels file is an error naming it, not an empty set of channels', async () => {
  for (const junk of ['{', '[]', '{"stable":"../x"}', '{"nightly":"1.0.0"}']) {
    await writeFile(join(root, CHANNELS_FILE), junk);
    await assert.rejects(readChannels(root), /channels\.json is damaged/, junk);
    await assert.rejects(setChannel(root, 'stable', '1.0.0'), /damaged/, junk);
  }
});
