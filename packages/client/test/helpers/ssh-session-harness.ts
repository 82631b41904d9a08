import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { ReachError, type RpcHandler } from '@reach/protocol';
import { type Logger, pino } from 'pino';
import {
  ensureTestUser,
  generateKeyPair,
  type SshdHandle,
  startSshd,
} from '../../../../test-support/openssh.ts';
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

/** A harness that also keeps its log lines and names its config directory. */
export interface LoggedSessionHarness extends SessionHarness {
  logs: string[];
  configDir: string;
}

/**
 * One suite's real sshd on loopback with a key for the OpenSSH test user, started in `before` and
 * stopped (with every harness made) in `after`. The fields are set once `before` has run.
 */
export interface SshdSessionSuite {
  dir: string;
  sshd: SshdHandle;
  keyFile: string;
  user: string;
  /** A new harness with its own config directory; its logs (trace level) are kept in `logs`. */
  makeHarness(overrides?: Partial<SshSessionHandlerDeps>): LoggedSessionHarness;
  /** Opens a session to the suite's sshd with the suite's key; returns its id. */
  openKey(call: SessionCall): Promise<string>;
}

/** Registers the suite's before/after hooks (call inside `describe`) and returns its fixture. */
export function useSshdSessionSuite(tempPrefix: string): SshdSessionSuite {
  const harnesses: SessionHarness[] = [];
  const fx: SshdSessionSuite = {
    dir: '',
    sshd: undefined as unknown as SshdHandle,
    keyFile: '',
    user: '',
    makeHarness(overrides = {}) {
      const logs: string[] = [];
      const configDir = join(fx.dir, `cfg-${harnesses.length}`);
      const log = pino({ level: 'trace' }, { write: (line: string) => logs.push(line) });
      const harness = { ...sessionHarness(configDir, log, overrides), logs, configDir };
      harnesses.push(harness);
      return harness;
    },
    async openKey(call) {
      const opened = await call('ssh_session_open', {
        host: '127.0.0.1',
        port: fx.sshd.port,
        username: fx.user,
        key_file: fx.keyFile,
      });
      return opened.session_id as string;
    },
  };
  before(async () => {
    fx.dir = await mkdtemp(join(tmpdir(), tempPrefix));
    fx.user = await ensureTestUser(TEST_USER_NAME, TEST_USER_PASSWORD);
    fx.keyFile = join(fx.dir, 'id_ed25519');
    const pub = await generateKeyPair(fx.keyFile);
    fx.sshd = await startSshd({ authorizedKeys: [pub], passwordAuthentication: true });
  });
  after(async () => {
    for (const h of harnesses) await h.close();
    await fx.sshd?.stop();
    await rm(fx.dir, { recursive: true, force: true });
  });
  return fx;
}
