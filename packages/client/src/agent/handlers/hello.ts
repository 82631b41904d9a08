import os from 'node:os';
import { HelloParams, type HelloResult } from '@reach/protocol';
import type { Logger } from '../../log/logger.ts';
import type { ReconnectHints } from '../../tunnel/reconnect-hints.ts';
import type { Updater } from '../../update/updater.ts';
import type { PathPolicy } from '../path-policy.ts';
import { defineHandler } from './define-handler.ts';

/** Who this client says it is. Informational only: the server derives identity from the SSH key. */
export interface ClientIdentity {
  uuid: string;
  client_id: string;
  display_name: string;
  purpose: string;
  tags: string[];
}

export interface SystemInfo {
  hostname: string;
  platform: string;
  username: string;
}

/** Hostname, "Linux 6.1.0 x64"-style platform, and the user the agent runs as. */
export function systemInfo(): SystemInfo {
  let username = 'unknown';
  try {
    username = os.userInfo().username;
  } catch {
    // No passwd entry for this uid (containers): keep 'unknown'.
  }
  return {
    hostname: os.hostname().slice(0, 255),
    platform: `${os.type()} ${os.release()} ${os.arch()}`.slice(0, 128),
    username: username.slice(0, 128),
  };
}

export interface HelloDeps {
  identity: ClientIdentity;
  version: string;
  policy: PathPolicy;
  system: SystemInfo;
  capabilities: () => string[];
  log: Logger;
  /** auto_update and the last self-update, when this client can update itself. */
  update?: Pick<Updater, 'autoUpdate' | 'lastUpdate'> | undefined;
  /** Where the server's reconnect window goes (the tunnel spreads its first retry over it). */
  hints?: ReconnectHints | undefined;
}

/** `hello`: the registration record the server stores for this client. */
export function helloHandler(deps: HelloDeps) {
  return defineHandler(HelloParams.partial(), async (params): Promise<HelloResult> => {
    deps.log.debug(
      { serverVersion: params.server_version, reconnectWindowMs: params.reconnect_window_ms },
      'hello from server',
    );
    if (deps.hints && params.reconnect_window_ms !== undefined)
      deps.hints.windowMs = params.reconnect_window_ms;
    return {
      ...deps.identity,
      capabilities: deps.capabilities(),
      ...deps.system,
      version: deps.version,
      allowed_paths: [...deps.policy.localPaths],
      ...(deps.update
        ? {
            auto_update: deps.update.autoUpdate,
            ...(deps.update.lastUpdate ? { last_update: deps.update.lastUpdate } : {}),
          }
        : {}),
    };
  });
}
