import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { main } from '../../src/main.ts';

const REPO = join(import.meta.dirname, '..', '..', '..', '..');

/** `reach --init` and `--generate-key` in `env.REACH_HOME`, then `reach-server authorize` of the key. */
export async function setupClient(env: Record<string, string | undefined>, serverDataDir: string) {
  const quiet = { env, stdout: () => undefined, stderr: () => undefined };
  if ((await main(['--init'], quiet)) !== 0) throw new Error('reach --init failed');
  if ((await main(['--generate-key'], quiet)) !== 0) throw new Error('reach --generate-key failed');
  let uuid = '';
  await main(['--show-uuid'], {
    ...quiet,
    stdout: (t) => {
      uuid += t;
    },
  });
  const auth = spawnSync(
    process.execPath,
    [
      join(REPO, 'packages/server/src/bin.ts'),
      ...['--data-dir', serverDataDir, 'authorize', join(env.REACH_HOME ?? '', 'id_ed25519.pub')],
    ],
    { encoding: 'utf8' },
  );
  if (auth.status !== 0) throw new Error(`authorize failed: ${auth.stderr}`);
  return uuid.trim();
}

/** The `reach` agent as a process of its own (so a test can SIGKILL it), stderr kept for failures. */
export function startClientProcess(env: Record<string, string | undefined>): {
  child: ChildProcess;
  stderr: () => string;
} {
  const child = spawn(process.execPath, [join(REPO, 'packages/client/src/bin.ts')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr?.on('data', (c: Buffer) => {
    text = (text + c.toString('utf8')).slice(-20_000);
  });
  return { child, stderr: () => text };
}
