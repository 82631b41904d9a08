/**
 * A Debian bookworm container booted with systemd as PID 1 (podman --systemd=always), for tests that
 * install, start, stop and remove real units. This machine has no systemd of its own and no image
 * registry: the image is made once from Debian's mirror with debootstrap and kept in podman's store.
 * Host networking, and the repository mounted read-only at its own path, so the repository's
 * Node 24 and sources run inside unchanged.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const SYSTEMD_IMAGE = 'localhost/reach-systemd:bookworm';
export const ROOTFS = '/var/tmp/reach-rootfs/bookworm';
const CONF = '/var/tmp/reach-containers.conf';

/** podman here: runc (crun refuses the hybrid cgroups), limits root cannot raise (PITFALLS 16). */
export function podmanEnv(): NodeJS.ProcessEnv {
  if (!existsSync(CONF)) {
    writeFileSync(
      CONF,
      '[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]\n[engine]\nruntime = "runc"\n',
    );
  }
  return { ...process.env, CONTAINERS_CONF: CONF };
}

/** Why containers cannot run here, or undefined when they can. */
export function systemdContainerUnavailable(mounts: readonly string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  // podman's systemd mode mounts a tmpfs over these, hiding a bind mount of the same path: a
  // checkout under /tmp would give units an ExecStart that does not exist inside (status 203).
  const hidden = mounts.find((m) =>
    ['/tmp', '/run', '/var/lib/journal'].some((t) => m === t || m.startsWith(`${t}/`)),
  );
  if (hidden)
    return `${hidden} is under a path podman's systemd mode hides (/tmp, /run): run from a checkout elsewhere`;
  for (const tool of ['podman', 'debootstrap']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  const info = spawnSync('podman', ['info'], { env: podmanEnv() });
  return info.status === 0 ? undefined : `podman cannot run here: ${String(info.stderr).slice(0, 200)}`;
}

function mirror(): string {
  try {
    const text = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(text);
    if (m?.[1]) return m[1];
  } catch {}
  return 'http://deb.debian.org/debian';
}

/**
 * Makes the image unless podman has it (~100 s the first time: debootstrap with systemd). Test
 * files run in parallel and two may want it at once: one builds under an flock, the other waits;
 * the root file system is made beside its place and renamed, so a killed build leaves none.
 */
export async function ensureSystemdImage(): Promise<void> {
  const env = podmanEnv();
  if (spawnSync('podman', ['image', 'exists', SYSTEMD_IMAGE], { env }).status === 0) return;
  const script = [
    'set -e',
    `podman image exists ${SYSTEMD_IMAGE} && exit 0`,
    `if [ ! -x ${ROOTFS}/lib/systemd/systemd ]; then`,
    `  rm -rf ${ROOTFS}.tmp && mkdir -p "$(dirname ${ROOTFS})"`,
    `  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates bookworm ${ROOTFS}.tmp "$1" >/dev/null`,
    `  rm -rf ${ROOTFS} && mv ${ROOTFS}.tmp ${ROOTFS}`,
    'fi',
    `tar -C ${ROOTFS} -c . | podman import - ${SYSTEMD_IMAGE} >/dev/null`,
  ].join('\n');
  mkdirSync(dirname(ROOTFS), { recursive: true });
  await run('flock', [`${ROOTFS}.lock`, 'sh', '-c', script, 'ensure-image', mirror()], {
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
}

export interface SystemdContainer {
  name: string;
  /** Runs a command inside (argument vector); rejects on a non-zero exit with its output. */
  exec(argv: readonly string[]): Promise<string>;
  /** The same, resolving with the exit code instead of rejecting. */
  execStatus(argv: readonly string[]): Promise<{ code: number; out: string }>;
  remove(): Promise<void>;
}

export async function startSystemdContainer(mounts: readonly string[]): Promise<SystemdContainer> {
  const env = podmanEnv();
  const name = `reach-systemd-${randomBytes(4).toString('hex')}`;
  await run(
    'podman',
    [
      'run',
      '-d',
      '--name',
      name,
      '--systemd=always',
      '--network',
      'host',
      ...mounts.flatMap((m) => ['-v', `${m}:${m}:ro`]),
      SYSTEMD_IMAGE,
      '/lib/systemd/systemd',
    ],
    { env },
  );
  const execStatus = async (argv: readonly string[]) => {
    try {
      const { stdout, stderr } = await run('podman', ['exec', name, ...argv], {
        env,
        maxBuffer: 16 * 1024 * 1024,
      });
      return { code: 0, out: stdout + stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };
  const container: SystemdContainer = {
    name,
    execStatus,
    exec: async (argv) => {
      const r = await execStatus(argv);
      if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code}:\n${r.out}`);
      return r.out;
    },
    remove: async () => {
      await run('podman', ['rm', '-f', '-t', '0', name], { env }).catch(() => {});
    },
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const state = (await execStatus(['systemctl', 'is-system-running'])).out.trim();
    if (state === 'running' || state === 'degraded') return container;
    if (Date.now() > deadline) {
      await container.remove();
      throw new Error(`systemd in ${name} did not come up: ${state}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Certificates this machine trusts that the image's Debian bundle lacks (a TLS-intercepting proxy's
 * CA), as PEM: the Dockerfile's EXTRA_CA_CERT build argument, so npm in the build can reach the
 * registry. Empty when there are none.
 */
export function extraCaCertificates(): string {
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;
  const read = (p: string) => {
    try {
      return readFileSync(p, 'utf8').match(pem) ?? [];
    } catch {
      return [];
    }
  };
  const image = read(join(ROOTFS, 'etc/ssl/certs/ca-certificates.crt'));
  if (image.length === 0) {
    // The image was built by an earlier run whose root file system is gone: the certificates a
    // machine adds itself are the ones in Debian's local CA directory. (The whole host bundle,
    // 220 KB, would not fit in one build argument: spawn fails with E2BIG past 128 KiB.)
    let local: string[] = [];
    try {
      local = readdirSync('/usr/local/share/ca-certificates').filter((n) => n.endsWith('.crt'));
    } catch {
      // none
    }
    return local.flatMap((n) => read(join('/usr/local/share/ca-certificates', n))).join('\n');
  }
  const known = new Set(image);
  return read('/etc/ssl/certs/ca-certificates.crt')
    .filter((c) => !known.has(c))
    .join('\n');
}
