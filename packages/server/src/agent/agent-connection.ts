import type { Duplex } from 'node:stream';
import {
  LINK_METHODS,
  type LinkMethod,
  type LinkParams,
  type LinkResult,
  ReachError,
  type RpcPeer,
} from '@reach/protocol';
import { peerOverStream } from '@reach/protocol/node';
import type { Logger } from '../log/logger.ts';

export interface AgentCallOptions {
  signal?: AbortSignal | undefined;
  /** Deadline for the response in ms; default LIMITS.defaultRpcTimeoutMs. */
  timeoutMs?: number | undefined;
}

/**
 * The RPC link to one online client's agent, over one `forwarded-tcpip` channel. Params are
 * validated before sending and results after receipt; when the channel closes every call in
 * flight fails at once with CONNECTION_ERROR.
 */
export class AgentConnection {
  readonly #peer: RpcPeer;
  readonly #closeListeners: Array<() => void> = [];
  #closed = false;

  constructor(channel: Duplex, log: Logger) {
    this.#peer = peerOverStream(channel, {
      onProtocolError: (err) => log.warn({ code: err.code, msg: err.message }, 'agent protocol error'),
      onClose: () => this.#onClosed(),
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get pendingCount(): number {
    return this.#peer.pendingCount;
  }

  async call<M extends LinkMethod>(
    method: M,
    params: LinkParams<M>,
    opts: AgentCallOptions = {},
  ): Promise<LinkResult<M>> {
    const schema = LINK_METHODS[method];
    const checked = schema.params.safeParse(params);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new ReachError(
        'INVALID_ARGUMENT',
        `invalid ${method} params: ${issue ? `${issue.path.join('.') || 'params'}: ${issue.message}` : 'invalid'}`,
      );
    }
    const raw = await this.#peer.call(method, checked.data, opts);
    const result = schema.result.safeParse(raw);
    if (!result.success) {
      throw new ReachError('INTERNAL_ERROR', `agent returned a malformed ${method} result`);
    }
    return result.data as LinkResult<M>;
  }

  /** Ends the channel; calls in flight fail with CONNECTION_ERROR. Idempotent. */
  close(reason?: string): void {
    if (this.#closed) return;
    this.#peer.close(new ReachError('CONNECTION_ERROR', reason ?? 'agent connection closed'));
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const l of this.#closeListeners.splice(0)) l();
  }
}
