import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PINS_FILE, pinOf, readPins, setPin } from './release-pins.ts';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
const U = '5f1c2d3e-4b5a-4c6d-8e7f-901234567890';

test('pins by client and by tag; the client pin wins; unpin removes it; a damaged file is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'reach-pins-'));
  dirs.push(dir);
  assert.deepEqual(await readPins(dir), { clients: {}, tags: {} });
  assert.equal(await setPin(dir, { kind: 'tags', key: 'lab' }, '1.2.0'), undefined);
  await setPin(dir, { kind: 'tags', key: 'gpu' }, '1.1.0');
  let pins = await readPins(dir);
  // Of several tag pins the lowest tag name wins: the same answer on every read.
  assert.equal(pinOf(pins, { uuid: U, tags: ['lab', 'gpu'] }), '1.1.0');
  assert.equal(pinOf(pins, { uuid: U, tags: ['web'] }), undefined);
  assert.equal(await setPin(dir, { kind: 'clients', key: U }, '1.3.0'), undefined);
  pins = await readPins(dir);
  assert.equal(pinOf(pins, { uuid: U, tags: ['lab'] }), '1.3.0');
  assert.equal(await setPin(dir, { kind: 'clients', key: U }, null), '1.3.0');
  assert.equal(pinOf(await readPins(dir), { uuid: U, tags: ['lab'] }), '1.2.0');
  assert.throws(() => JSON.parse('{'));
  await writeFile(join(dir, PINS_FILE), '{"clients": {"not-a-uuid": "1.0.0"}}');
  await assert.rejects(readPins(dir), /pins\.json is damaged/);
  assert.match(
    await readFile(join(dir, PINS_FILE), 'utf8'),
    /not-a-uuid/,
    'a damaged file is left for the operator',
  );
});
