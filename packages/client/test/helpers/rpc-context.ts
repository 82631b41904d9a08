import type { RpcRequestContext } from '@reach/protocol';

let nextId = 1;

/** A request context for calling an agent handler directly, with an optional abort signal. */
export function rpcContext(
  method: string,
  signal: AbortSignal = new AbortController().signal,
): RpcRequestContext {
  return { id: nextId++, method, signal };
}

/** Whether a pid is gone (or only a zombie waiting for a reaper that may never come in a container). */
export async function isDead(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')')));
}

/** Polls until `check` holds or `ms` passes; returns the last result. */
export async function waitFor(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}
