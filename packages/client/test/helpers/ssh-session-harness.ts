import assert from 'node:assert/strict';
import { ReachError, type RpcHandler } from '@reach/protocol';
import type { Logger } from 'pino';
import { createSshSessionHandlers, type SshSessionHandlerDeps } from '../../src/ssh-sessions/handlers.ts';

/** The password of the OpenSSH test user (test-support/openssh.ts ensureTestUser). */
export const TEST_USER_PASSWORD = 'Reach-test-pw-7f3a9c';
export const TEST_USER_NAME = 'reachtest';

export type SessionCall = (
  method: string,
  params: unknown,
  signal?: AbortSignal,
) => Promise<Record<string, unknown>>;

export interface SessionHarness {
  call: SessionCall;
  close(): Promise<void>;
  sweepIdle(): string[];
}

/** The client's SSH-session handlers, called in-process the way the agent's RPC layer calls them. */
export function sessionHarness(
  configDir: string,
  log: Logger,
  overrides: Partial<SshSessionHandlerDeps> = {},
): SessionHarness {
  const h = createSshSessionHandlers({ configDir, log, sweepIntervalMs: 0, ...overrides });
  const call: SessionCall = async (method, params, signal = new AbortController().signal) => {
    const handler: RpcHandler | undefined = h.handlers.get(method);
    assert.ok(handler, `no handler for ${method}`);
    return (await handler(params, { id: 1, method, signal })) as Record<string, unknown>;
  };
  return { call, close: h.close, sweepIdle: h.sweepIdle };
}

/** Awaits `promise` and asserts it fails with a ReachError of `code`; returns the error. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<ReachError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ReachError, `expected ReachError, got ${String(err)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}
