import { fromRpcError, ReachError, type RpcErrorObject, toReachError, toRpcError } from './errors.ts';
import { encodeFrame, FrameDecoder } from './framing.ts';
import {
  CANCEL_METHOD,
  CancelParams,
  type RpcId,
  RpcNotification,
  RpcRequest,
  RpcResponse,
} from './json-rpc.ts';
import { LIMITS } from './limits.ts';

/**
 * Where a peer's frames go; the owner feeds received bytes to `receive` and reports closure.
 * `peerOverStream` (the `node` subpath) is the one implementation over a byte stream.
 */
export interface RpcTransport {
  /**
   * Writes one whole frame. Resolves once the transport can take more, so a sender that awaits it
   * waits for a slow reader instead of piling frames up (STYLE 17); rejects with CONNECTION_ERROR
   * once the transport is closed. Frames are written in the order `send` was called.
   */
  send(frame: Uint8Array): Promise<void>;
  /** Frames handed to `send` that still wait for the reader to drain (0 or absent: none). */
  readonly waiting?: number;
  close(): void;
}

export interface RpcRequestContext {
  id: RpcId;
  method: string;
  /** Aborted when the caller cancels, or the link closes. */
  signal: AbortSignal;
}

/** Serves one method. Throw a ReachError for a typed failure; anything else becomes INTERNAL_ERROR. */
export type RpcHandler = (params: unknown, ctx: RpcRequestContext) => Promise<unknown>;

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Deadline for the response; on expiry the call fails with TIMEOUT and the peer is told to cancel. */
  timeoutMs?: number | undefined;
}

export interface RpcPeerOptions {
  transport: RpcTransport;
  handlers?: ReadonlyMap<string, RpcHandler>;
  /** Largest frame body accepted from the peer (the decoder's limit); default LIMITS.maxFrameBytes. */
  maxFrameBytes?: number;
  /** Largest frame body this side sends; default `maxFrameBytes`. */
  maxOutgoingFrameBytes?: number;
  defaultTimeoutMs?: number;
  /** Requests served at once; past it a request is answered RATE_LIMIT_EXCEEDED at once. */
  maxConcurrentIncoming?: number;
  /** Told about malformed input from the peer (for logging); never throws into the stream. */
  onProtocolError?: (err: ReachError) => void;
}

/**
 * Error replies that answer no served request (malformed input, unknown method, over the
 * concurrency cap) and have to wait behind a reader that does not drain. A peer that keeps
 * sending such requests without reading would otherwise make us queue about 100 bytes of reply
 * per 5 bytes it sends, for ever; past this many the link is closed instead.
 */
const MAX_WAITING_ERROR_REPLIES = 256;

interface Pending {
  resolve(value: unknown): void;
  reject(err: ReachError): void;
  cleanup(): void;
}

/**
 * A symmetric JSON-RPC 2.0 endpoint over a framed byte stream: many requests in flight matched by
 * id, a deadline and an AbortSignal per outgoing call, cancellation forwarded to the peer, and
 * every pending call failed with CONNECTION_ERROR the moment the link closes.
 */
export class RpcPeer {
  readonly #transport: RpcTransport;
  readonly #handlers: ReadonlyMap<string, RpcHandler>;
  readonly #decoder: FrameDecoder;
  readonly #maxOutgoingFrameBytes: number;
  readonly #defaultTimeoutMs: number;
  readonly #maxConcurrentIncoming: number;
  readonly #onProtocolError: (err: ReachError) => void;
  readonly #pending = new Map<RpcId, Pending>();
  readonly #serving = new Map<RpcId, AbortController>();
  #nextId = 1;
  #waitingErrorReplies = 0;
  #closedReason: ReachError | undefined;

  constructor(options: RpcPeerOptions) {
    this.#transport = options.transport;
    this.#handlers = options.handlers ?? new Map();
    const maxFrameBytes = options.maxFrameBytes ?? LIMITS.maxFrameBytes;
    this.#decoder = new FrameDecoder(maxFrameBytes);
    this.#maxOutgoingFrameBytes = options.maxOutgoingFrameBytes ?? maxFrameBytes;
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? LIMITS.defaultRpcTimeoutMs;
    this.#maxConcurrentIncoming = options.maxConcurrentIncoming ?? 1024;
    this.#onProtocolError = options.onProtocolError ?? (() => {});
  }

  get closed(): boolean {
    return this.#closedReason !== undefined;
  }

  /** Why the link closed (always CONNECTION_ERROR), once it has. */
  get closeReason(): ReachError | undefined {
    return this.#closedReason;
  }

  /** Outgoing calls awaiting a response. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Incoming requests being served. */
  get servingCount(): number {
    return this.#serving.size;
  }

  call(method: string, params?: unknown, options: CallOptions = {}): Promise<unknown> {
    if (this.#closedReason) return Promise.reject(this.#closedReason);
    if (options.signal?.aborted) {
      return Promise.reject(new ReachError('CANCELLED', `${method} cancelled before it was sent`));
    }
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#defaultTimeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const signal = options.signal;
      const onAbort = (): void => {
        this.#settle(id)?.reject(new ReachError('CANCELLED', `${method} cancelled`));
        this.#sendCancel(id);
      };
      const timer = setTimeout(() => {
        this.#settle(id)?.reject(
          new ReachError('TIMEOUT', `${method} got no response within ${timeoutMs} ms`, {
            details: { method, timeout_ms: timeoutMs },
          }),
        );
        this.#sendCancel(id);
      }, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, {
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      });
      // The response cannot come before the request is written, so the call also waits out a
      // reader that is not draining; a refused write fails the call.
      this.#send({ jsonrpc: '2.0', id, method, params: params ?? {} }).catch((err: unknown) => {
        this.#settle(id)?.reject(toReachError(err));
      });
    });
  }

  /** Sends a notification; resolves once the transport took it (see RpcTransport.send). */
  async notify(method: string, params?: unknown): Promise<void> {
    if (this.#closedReason) return;
    try {
      await this.#send({ jsonrpc: '2.0', method, params: params ?? {} });
    } catch (err) {
      if (!this.#closedReason) this.#onProtocolError(toReachError(err));
    }
  }

  /** Bytes received from the transport. */
  receive(chunk: Uint8Array): void {
    if (this.#closedReason) return;
    for (const frame of this.#decoder.push(chunk)) {
      if (!frame.ok) {
        this.#onProtocolError(frame.error);
        this.#sendError(null, frame.error);
        if (frame.error.code === 'FRAME_TOO_LARGE') {
          // The stream cannot be resynchronised after a refused length prefix.
          this.handleClose(frame.error);
          this.#transport.close();
          return;
        }
        continue;
      }
      this.#dispatch(frame.value);
    }
  }

  /** The transport closed (or must be treated as closed): fail everything in flight. */
  handleClose(reason?: ReachError): void {
    if (this.#closedReason) return;
    this.#closedReason =
      reason?.code === 'CONNECTION_ERROR'
        ? reason
        : new ReachError('CONNECTION_ERROR', reason ? `link closed: ${reason.message}` : 'link closed');
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(this.#closedReason);
    for (const controller of this.#serving.values()) controller.abort(this.#closedReason);
    this.#serving.clear();
  }

  /** Closes the link: pending calls fail with CONNECTION_ERROR (or `reason`). Idempotent. */
  close(reason?: ReachError): void {
    if (this.#closedReason) return;
    this.handleClose(reason ?? new ReachError('CONNECTION_ERROR', 'link closed locally'));
    this.#transport.close();
  }

  #dispatch(message: unknown): void {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.#sendError(null, new ReachError('INVALID_REQUEST', 'message is not a JSON-RPC object'));
      return;
    }
    if ('method' in message) {
      if ('id' in message) {
        const request = RpcRequest.safeParse(message);
        if (!request.success) {
          const id = RpcRequest.shape.id.safeParse((message as { id: unknown }).id);
          this.#sendError(
            id.success ? id.data : null,
            new ReachError('INVALID_REQUEST', 'malformed request'),
          );
          return;
        }
        this.#serve(request.data);
      } else {
        const notification = RpcNotification.safeParse(message);
        if (notification.success && notification.data.method === CANCEL_METHOD) {
          const params = CancelParams.safeParse(notification.data.params);
          if (params.success) {
            this.#serving.get(params.data.id)?.abort(new ReachError('CANCELLED', 'cancelled by caller'));
          }
        }
      }
      return;
    }
    const response = RpcResponse.safeParse(message);
    if (!response.success || response.data.id === null) {
      if (response.success && 'error' in response.data) {
        this.#onProtocolError(fromRpcError(response.data.error as RpcErrorObject));
      } else {
        this.#onProtocolError(new ReachError('INVALID_REQUEST', 'malformed response'));
      }
      return;
    }
    const pending = this.#settle(response.data.id);
    if (!pending) return; // late answer to a call that timed out or was cancelled
    if ('error' in response.data) pending.reject(fromRpcError(response.data.error as RpcErrorObject));
    else pending.resolve(response.data.result);
  }

  #serve(request: RpcRequest): void {
    const handler = this.#handlers.get(request.method);
    if (!handler) {
      this.#sendError(request.id, new ReachError('METHOD_NOT_FOUND', `unknown method ${request.method}`));
      return;
    }
    if (this.#serving.has(request.id)) {
      this.#sendError(
        request.id,
        new ReachError('INVALID_REQUEST', `request id ${request.id} is already in use`),
      );
      return;
    }
    if (this.#serving.size >= this.#maxConcurrentIncoming) {
      this.#sendError(
        request.id,
        new ReachError('RATE_LIMIT_EXCEEDED', `more than ${this.#maxConcurrentIncoming} requests in flight`),
      );
      return;
    }
    const controller = new AbortController();
    this.#serving.set(request.id, controller);
    const ctx: RpcRequestContext = { id: request.id, method: request.method, signal: controller.signal };
    Promise.resolve()
      .then(() => handler(request.params ?? {}, ctx))
      .then(
        (result) => this.#reply(request.id, controller, { result: result ?? null }),
        (err: unknown) => this.#reply(request.id, controller, { error: toRpcError(toReachError(err)) }),
      );
  }

  /**
   * Answers a served request. Its slot stays taken until the transport took the reply, so at
   * most `maxConcurrentIncoming` replies ever wait for a peer that does not read them.
   */
  #reply(
    id: RpcId,
    controller: AbortController,
    body: { result: unknown } | { error: RpcErrorObject },
  ): void {
    if (this.#serving.get(id) !== controller) return;
    let frame: Uint8Array;
    try {
      frame = encodeFrame({ jsonrpc: '2.0', id, ...body }, this.#maxOutgoingFrameBytes);
    } catch (err) {
      // The result does not fit in a frame: the caller still gets an answer.
      frame = encodeFrame({ jsonrpc: '2.0', id, error: toRpcError(toReachError(err)) });
    }
    this.#write(frame)
      .catch((err: unknown) => {
        if (!this.#closedReason) this.#onProtocolError(toReachError(err));
      })
      .finally(() => {
        if (this.#serving.get(id) === controller) this.#serving.delete(id);
      });
  }

  #settle(id: RpcId): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    pending.cleanup();
    return pending;
  }

  #sendCancel(id: RpcId): void {
    void this.notify(CANCEL_METHOD, { id });
  }

  /** An error reply that answers no served request (see MAX_WAITING_ERROR_REPLIES). */
  #sendError(id: RpcId | null, err: ReachError): void {
    if (this.#closedReason) return;
    const queued = (this.#transport.waiting ?? 0) > 0;
    if (queued && this.#waitingErrorReplies >= MAX_WAITING_ERROR_REPLIES) {
      const flood = new ReachError(
        'RATE_LIMIT_EXCEEDED',
        `peer sent over ${MAX_WAITING_ERROR_REPLIES} refused requests without reading the replies`,
      );
      this.#onProtocolError(flood);
      this.close(new ReachError('CONNECTION_ERROR', flood.message));
      return;
    }
    if (queued) this.#waitingErrorReplies += 1;
    this.#send({ jsonrpc: '2.0', id, error: toRpcError(err) })
      .catch((sendErr: unknown) => {
        if (!this.#closedReason) this.#onProtocolError(toReachError(sendErr));
      })
      .finally(() => {
        if (queued) this.#waitingErrorReplies -= 1;
      });
  }

  /** Encodes and sends; an oversized message (FRAME_TOO_LARGE) rejects before anything is written. */
  #send(message: unknown): Promise<void> {
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message, this.#maxOutgoingFrameBytes);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#write(frame);
  }

  #write(frame: Uint8Array): Promise<void> {
    try {
      return this.#transport.send(frame);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}
