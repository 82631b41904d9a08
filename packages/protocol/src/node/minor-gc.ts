import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Returns a function that runs a young-generation collection (a scavenge), or undefined when the
 * runtime does not offer one.
 *
 * Why a transfer wants it: every socket read and SSH packet is a fresh 32–64 KiB buffer whose
 * memory lives outside V8's heap. Their small JS wrappers die young, but scavenges are paced by
 * heap allocation, which bulk data barely does, so the dead buffers pile up until V8's external
 * memory limit (~64 MiB) forces a full mark-compact of the whole heap. Measured here, the server's
 * RSS grew 46–86 MiB during a 1 GiB download without paced scavenges and 0–39 MiB with one every
 * 32 MiB (TransferChannel). Their CPU effect was within this VM's noise on the server; on the
 * client they cost more than they saved, so only the server uses them.
 *
 * `gc` is exposed by the --expose-gc flag, which can be set at run time for contexts created
 * afterwards (node:v8 setFlagsFromString); the function is taken from such a context.
 */
export function exposeMinorGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return undefined;
    return () => {
      (gc as (opts: { type: 'minor' }) => void)({ type: 'minor' });
    };
  } catch {
    return undefined;
  }
}
