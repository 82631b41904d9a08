import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { detectCapabilities } from './detect.ts';

describe('detectCapabilities', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reach-caps-'));
    const a = join(root, 'a');
    const b = join(root, 'b');
    await mkdir(a);
    await mkdir(b);
    await mkdir(join(root, 'systemd'));
    const exe = async (dir: string, name: string, mode = 0o755) => {
      await writeFile(join(dir, name), '#!/bin/sh\n');
      await chmod(join(dir, name), mode);
    };
    await exe(a, 'git');
    await exe(a, 'python3');
    await exe(a, 'python3.11');
    await exe(a, 'python3-config');
    await exe(b, 'apt-get');
    await exe(b, 'apt');
    await exe(b, 'nvidia-smi');
    await exe(b, 'docker', 0o644);
    await mkdir(join(b, 'node'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('finds executables on PATH, versioned pythons, gpu and systemd; skips non-executables', async () => {
    const caps = await detectCapabilities({
      pathEnv: [join(root, 'a'), join(root, 'missing'), 'relative', join(root, 'b')].join(':'),
      systemdDir: join(root, 'systemd'),
    });
    // docker is 0644 (even root's X_OK needs an execute bit), node is a directory.
    assert.deepEqual(caps, ['apt', 'git', 'gpu', 'python3', 'python3.11', 'systemd']);
  });

  test('no systemd directory, empty PATH: nothing', async () => {
    assert.deepEqual(await detectCapabilities({ pathEnv: '', systemdDir: join(root, 'nope') }), []);
  });

  test('the real machine: sorted, unique, within the schema limits', async () => {
    const caps = await detectCapabilities({ pathEnv: process.env.PATH ?? '' });
    assert.deepEqual(caps, [...new Set(caps)].sort());
    assert.ok(caps.every((c) => c.length <= 64));
    // This very test runs on a node found on PATH.
    assert.ok(caps.includes('node'));
  });
});
