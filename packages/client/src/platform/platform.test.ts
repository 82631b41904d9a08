import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rpcContext } from '../../test/helpers/rpc-context.ts';
import { runCommandHandler } from '../agent/handlers/run-command.ts';
import { PathPolicy } from '../agent/path-policy.ts';
import { detectCapabilities } from '../capabilities/detect.ts';
import { generateKeyCommand } from '../commands/setup-commands.ts';
import { loadConfig, resolveConfigDir } from '../config/load-config.ts';
import { createLogger } from '../log/logger.ts';
import { collectMetrics } from '../metrics/collect-metrics.ts';
import { type Platform, POSIX_PLATFORM, platformFor, windowsPlatform } from './platform.ts';

describe('platform wiring', () => {
  let root = '';
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'reach-platform-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('platformFor picks by the name it is given, not by the host', () => {
    assert.equal(platformFor('win32').name, 'win32');
    assert.equal(platformFor('linux'), POSIX_PLATFORM);
    assert.equal(platformFor('darwin'), POSIX_PLATFORM);
  });

  test('config dir: %USERPROFILE%\\.reach on Windows; flags and REACH_HOME still win', () => {
    const win = windowsPlatform();
    const env = { USERPROFILE: 'C:\\Users\\me' };
    assert.equal(resolveConfigDir({ env, homedir: 'C:\\ignored', platform: win }), 'C:\\Users\\me\\.reach');
    assert.equal(
      resolveConfigDir({ env: {}, homedir: 'D:\\home\\me', platform: win }),
      'D:\\home\\me\\.reach',
    );
    assert.equal(resolveConfigDir({ env: { ...env, REACH_HOME: 'E:\\reach' }, platform: win }), 'E:\\reach');
    assert.equal(
      resolveConfigDir({ env, configDir: '~\\cfg', homedir: 'C:\\Users\\me', platform: win }),
      'C:\\Users\\me\\cfg',
    );
    assert.equal(resolveConfigDir({ env, homedir: '/h' }), '/h/.reach');
  });

  test('--generate-key restricts the key directory, then the private key (ACL on Windows)', async () => {
    const home = join(root, 'keyhome');
    const calls: string[] = [];
    const platform: Platform = {
      ...POSIX_PLATFORM,
      restrictToOwner: async (p, kind) => {
        // The private key must not exist yet when its directory is restricted.
        const keyThere = await stat(join(home, 'id_ed25519')).then(
          () => true,
          () => false,
        );
        calls.push(`${kind} ${p.slice(home.length) || '/'} ${keyThere}`);
      },
    };
    const out: string[] = [];
    const sources = { env: { REACH_HOME: home }, platform };
    const code = await generateKeyCommand.run({
      io: { stdout: (t) => out.push(t), stderr: () => undefined, env: sources.env, platform },
      sources,
      force: false,
      json: false,
      flags: {},
    });
    assert.equal(code, 0);
    assert.deepEqual(calls, ['dir / false', 'dir / false', 'file /id_ed25519 true']);
    assert.equal((await stat(join(home, 'id_ed25519'))).mode & 0o777, 0o600);
    assert.equal((await loadConfig(sources)).keyPath, join(home, 'id_ed25519'));
  });

  test('run_command: a Windows shell asked of a POSIX client is refused before anything runs', async () => {
    const h = runCommandHandler({
      policy: new PathPolicy([]),
      log: createLogger('silent'),
      baseEnv: { PATH: process.env.PATH },
      defaultCwd: root,
      platform: POSIX_PLATFORM,
    });
    const marker = join(root, 'ran');
    await assert.rejects(h({ cmd: `touch ${marker}`, shell: 'powershell' }, rpcContext('run_command')), {
      code: 'INVALID_ARGUMENT',
    });
    await assert.rejects(stat(marker), { code: 'ENOENT' });
  });

  test('run_command: spawns what the platform says and kills the tree the platform way', async () => {
    const killed: string[] = [];
    const platform: Platform = {
      ...POSIX_PLATFORM,
      // A shell of its own choosing, as the Windows platform picks cmd.exe: proves the spawn follows it.
      shell: (cmd) => ({
        file: '/bin/sh',
        args: ['-c', `echo via-platform; ${cmd}`],
        detached: true,
        windowsVerbatimArguments: false,
      }),
      killTree: (pid, sig) => {
        killed.push(sig);
        POSIX_PLATFORM.killTree(pid, sig);
      },
    };
    const h = runCommandHandler({
      policy: new PathPolicy([]),
      log: createLogger('silent'),
      baseEnv: { PATH: process.env.PATH },
      defaultCwd: root,
      killGraceMs: 100,
      platform,
    });
    const r = (await h({ cmd: 'echo hi' }, rpcContext('run_command'))) as { stdout: string };
    assert.equal(r.stdout, 'via-platform\nhi\n');
    await assert.rejects(h({ cmd: 'sleep 30', timeout: 1 }, rpcContext('run_command')), {
      code: 'COMMAND_TIMEOUT',
    });
    assert.equal(killed[0], 'SIGTERM');
  });

  test('metrics without /proc come from os, disks from the platform roots', async () => {
    const m = await collectMetrics({ procRoot: null, diskRoots: [root], cpuSampleMs: 20 });
    assert.ok(m.memory.total_gb > 0);
    assert.ok(m.cpu.core_count >= 1);
    assert.deepEqual(Object.keys(m.disk), [root]);
    assert.equal(m.process_count, 0);
  });

  test('capabilities on Windows: PATH split on ;, executables by PATHEXT suffix, no systemd', async () => {
    const bin = join(root, 'winbin');
    await mkdir(bin, { recursive: true });
    for (const f of ['git.exe', 'npm.cmd', 'Docker.EXE', 'make']) {
      await writeFile(join(bin, f), '');
      await chmod(join(bin, f), 0o755);
    }
    // Paths of this machine, joined the POSIX way: what is under test is the Windows naming.
    const caps = await detectCapabilities({
      pathEnv: `${bin};relative\\dir`,
      platform: { name: 'win32', isAbsolute: posix.isAbsolute, join: posix.join },
      systemdDir: root,
    });
    assert.deepEqual(caps, ['docker', 'git', 'npm']);
  });
});
