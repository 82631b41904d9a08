/**
 * Every artifact of dist/release against release.json (size, sha256, SHA256SUMS), its headers
 * (ELF x86-64 / AArch64, PE32+ x86-64), the SEA fuse flipped, the archives' contents; then the
 * aarch64 executables run under qemu-user and the Windows one under wine, where installed (CI
 * installs both: see .ci/run).
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { loadManifest, RELEASE, sha256File } from './release-dir.ts';

const run = promisify(execFile);
const manifest = loadManifest();

/** Node's SEA fuse; postject turns the trailing `:0` into `:1` in an injected executable. */
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2:1';
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

async function head(file: string, bytes: number, at = 0): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    await fh.read(buf, 0, bytes, at);
    return buf;
  } finally {
    await fh.close();
  }
}

function has(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Outside CI a missing emulator skips its test; in CI (.ci/run installs them) it fails. */
function needs(tools: string[]): { skip: string | false } {
  const missing = tools.filter((t) => !has(t));
  if (missing.length === 0 || process.env.CI === 'true') return { skip: false };
  return { skip: `${missing.join(', ')} not installed` };
}

describe('release artifacts', () => {
  test('the expected names, each of the size and sha256 release.json says, and SHA256SUMS agrees', async () => {
    assert.deepEqual(manifest.artifacts.map((a) => a.name).sort(), [
      'reach-linux-aarch64',
      'reach-linux-aarch64.tar.gz',
      'reach-linux-x86_64',
      'reach-linux-x86_64.tar.gz',
      'reach-server-linux-aarch64',
      'reach-server-linux-x86_64',
      'reach-windows-amd64.zip',
      'reach-windows-x86_64.exe',
    ]);
    for (const a of manifest.artifacts) {
      const file = join(RELEASE, a.name);
      assert.equal((await readFile(file)).length, a.size, a.name);
      assert.equal(await sha256File(file), a.sha256, a.name);
    }
    const sums = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: RELEASE });
    assert.equal(sums.stdout.trim().split('\n').length, manifest.artifacts.length);
  });

  test('headers: ELF64 x86-64 and AArch64 for Linux, PE32+ x86-64 for Windows; SEA fuse set', async () => {
    for (const a of manifest.artifacts.filter((x) => x.kind === 'executable')) {
      const file = join(RELEASE, a.name);
      if (a.platform === 'linux') {
        const h = await head(file, 20);
        assert.equal(h.subarray(0, 4).toString('latin1'), '\x7fELF', a.name);
        assert.equal(h[4], 2, `${a.name}: ELFCLASS64`);
        assert.equal(h[5], 1, `${a.name}: little-endian`);
        assert.equal(
          h.readUInt16LE(18),
          a.arch === 'aarch64' ? EM_AARCH64 : EM_X86_64,
          `${a.name}: e_machine`,
        );
      } else {
        const dos = await head(file, 64);
        assert.equal(dos.subarray(0, 2).toString('latin1'), 'MZ');
        const pe = await head(file, 26, dos.readUInt32LE(0x3c));
        assert.equal(pe.subarray(0, 4).toString('latin1'), 'PE\0\0');
        assert.equal(pe.readUInt16LE(4), 0x8664, 'IMAGE_FILE_MACHINE_AMD64');
        assert.equal(pe.readUInt16LE(24), 0x20b, 'PE32+ optional header');
      }
      assert.ok((await readFile(file)).includes(FUSE), `${a.name}: blob injected (fuse flipped)`);
    }
  });

  test('archives unpack to reach/ with the executable and its setup/run scripts', async () => {
    for (const [archive, exe] of [
      ['reach-linux-x86_64.tar.gz', 'reach-linux-x86_64'],
      ['reach-linux-aarch64.tar.gz', 'reach-linux-aarch64'],
    ] as const) {
      const list = await run('tar', ['-tvzf', join(RELEASE, archive)]);
      const entries = list.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/));
      assert.deepEqual(entries.map((e) => e.at(-1)).sort(), [
        'reach/',
        'reach/reach',
        'reach/run.sh',
        'reach/setup.sh',
      ]);
      for (const e of entries.filter((x) => x.at(-1) !== 'reach/'))
        assert.equal(e[0], '-rwxr-xr-x', `${archive}: ${e.at(-1)}`);
      const body = execFileSync('tar', ['-xOzf', join(RELEASE, archive), 'reach/reach'], {
        maxBuffer: 512 * 1024 * 1024,
      });
      assert.ok(body.equals(await readFile(join(RELEASE, exe))), `${archive} carries ${exe}`);
    }
    const zip = await run('unzip', ['-Z1', join(RELEASE, 'reach-windows-amd64.zip')]);
    assert.deepEqual(zip.stdout.trim().split('\n').sort(), [
      'reach/reach.exe',
      'reach/run.bat',
      'reach/setup.bat',
    ]);
    const exe = execFileSync('unzip', ['-p', join(RELEASE, 'reach-windows-amd64.zip'), 'reach/reach.exe'], {
      maxBuffer: 512 * 1024 * 1024,
    });
    assert.ok(exe.equals(await readFile(join(RELEASE, 'reach-windows-x86_64.exe'))));
    const bat = execFileSync('unzip', ['-p', join(RELEASE, 'reach-windows-amd64.zip'), 'reach/setup.bat'], {
      encoding: 'latin1',
    });
    assert.ok(bat.includes('\r\n'), 'batch files keep CRLF line ends');
  });

  test('aarch64 client and server run under qemu-user', needs(['qemu-aarch64-static']), async () => {
    const sysroot = '/usr/aarch64-linux-gnu';
    assert.ok(existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1')), `${sysroot} (libc6-arm64-cross)`);
    const home = await mkdtemp(join(tmpdir(), 'reach-qemu-home-'));
    try {
      const qemu = (exe: string, args: string[]) =>
        run('qemu-aarch64-static', ['-L', sysroot, join(RELEASE, exe), ...args], {
          env: { PATH: '/usr/bin:/bin', REACH_HOME: home },
          timeout: 120_000,
        });
      const v = await qemu('reach-linux-aarch64', ['--version']);
      assert.equal(v.stdout, `reach ${manifest.version} (node ${manifest.node}, ssh crypto: js)\n`);
      const init = await qemu('reach-linux-aarch64', ['--init']);
      assert.match(init.stdout, /UUID: [0-9a-f-]{36}/);
      const key = await qemu('reach-linux-aarch64', ['--generate-key']);
      assert.match(key.stdout, /reach-server authorize 'ssh-ed25519 /);
      const s = await qemu('reach-server-linux-aarch64', ['--version']);
      assert.equal(s.stdout, `reach-server ${manifest.version}\n`);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  describe('windows executable under wine', needs(['wine']), () => {
    const work = join(tmpdir(), `reach-wine-${process.pid}`);
    const prefix = join(work, 'prefix');
    const env = {
      PATH: '/usr/bin:/bin',
      HOME: work,
      WINEPREFIX: prefix,
      WINEDEBUG: '-all',
      WINEDLLOVERRIDES: 'mscoree,mshtml=',
    };
    // Under wine, stdio must be files or /dev/null, never pipes (PITFALLS 14): each run writes to a file.
    const wine = async (args: string[], extra: Record<string, string> = {}): Promise<string> => {
      const out = join(work, 'out.txt');
      const fh = await open(out, 'w');
      try {
        await new Promise<void>((resolve, reject) => {
          const p = spawn('wine', args, { env: { ...env, ...extra }, stdio: ['ignore', fh.fd, fh.fd] });
          const timer = setTimeout(() => p.kill('SIGKILL'), 120_000);
          p.on('exit', (code) => {
            clearTimeout(timer);
            if (code === 0) resolve();
            else reject(new Error(`wine ${args.join(' ')} exited ${code}`));
          });
        });
      } finally {
        await fh.close();
      }
      return readFile(out, 'utf8');
    };

    after(async () => {
      await run('wineserver', ['-k'], { env }).catch(() => {});
      await rm(work, { recursive: true, force: true });
    });

    test('--version, --init, --generate-key and setup.bat', async () => {
      await mkdir(work, { recursive: true });
      await wine(['wineboot', '--init']);
      await wine(['winecfg', '/v', 'win10']);
      // Node 24 crashes on wine 8 (no MEM_RESERVE_PLACEHOLDER); hiding MapViewOfFile3 from V8 in a
      // test copy makes it fall back (PITFALLS 14). The shipped file is not changed.
      const exe = Buffer.from(await readFile(join(RELEASE, 'reach-windows-x86_64.exe')));
      const at = exe.indexOf('MapViewOfFile3\0');
      assert.ok(at > 0 && exe.indexOf('MapViewOfFile3\0', at + 1) < 0, 'one MapViewOfFile3 import name');
      exe[at + 13] = 0x58;
      const dir = join(work, 'reach');
      await mkdir(dir);
      await writeFile(join(dir, 'reach.exe'), exe);
      for (const bat of ['setup.bat', 'run.bat']) {
        const body = execFileSync('unzip', ['-p', join(RELEASE, 'reach-windows-amd64.zip'), `reach/${bat}`]);
        await writeFile(join(dir, bat), body);
      }
      const winDir = `Z:${dir.replaceAll('/', '\\')}`;
      const home = `${winDir}\\home`;
      const v = await wine([join(dir, 'reach.exe'), '--version']);
      assert.match(
        v,
        new RegExp(
          `^reach ${manifest.version.replaceAll('.', '\\.')} \\(node ${manifest.node}, ssh crypto: js\\)`,
        ),
      );
      const setup = await wine(['cmd', '/c', `${winDir}\\setup.bat`], { REACH_HOME: home });
      const pub = (await readFile(join(dir, 'home', 'id_ed25519.pub'), 'utf8')).trim();
      assert.ok(setup.includes(`reach-server authorize '${pub}'`), setup);
      const uuid = await wine(['cmd', '/c', `${winDir}\\run.bat`, '--show-uuid'], { REACH_HOME: home });
      assert.match(uuid.trim(), /^[0-9a-f-]{36}$/);
    });
  });
});
