import { CapabilitiesParams, HeartbeatParams, SetPolicyParams } from '@reach/protocol';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';

/**
 * `set_policy`: the server's per-client allowed_paths narrow the client's own (PathPolicy); the
 * reply names the resolved roots in force.
 */
export function setPolicyHandler(policy: PathPolicy, onApplied?: () => Promise<void>) {
  return defineHandler(SetPolicyParams, async ({ allowed_paths }) => {
    policy.setServerPaths(allowed_paths);
    const result = { allowed_paths: await policy.effectivePaths() };
    // Registration's last call before the client is online (after hello): a just-updated client
    // counts as registered here (update/updater.ts).
    await onApplied?.();
    return result;
  });
}

/** `heartbeat`: wall-clock ms and the agent's uptime in seconds. */
export function heartbeatHandler(now: () => number, startedAt: number) {
  return defineHandler(HeartbeatParams, async () => {
    const ts = now();
    return { ts, uptime_s: Math.round((ts - startedAt) / 1000) };
  });
}

/** `capabilities`: detected again on every call; the result also feeds later `hello`s. */
export function capabilitiesHandler(detect: () => Promise<string[]>, remember: (caps: string[]) => void) {
  return defineHandler(CapabilitiesParams, async () => {
    const capabilities = await detect();
    remember(capabilities);
    return { capabilities };
  });
}
