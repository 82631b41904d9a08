import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { ReachError, toReachError } from '@reach/protocol';
import { fsError, presignedRequest } from '@reach/protocol/node';
import type { AuditLog } from '../audit/audit-log.ts';
import type { ClientService } from '../clients/client-service.ts';
import type { ExchangeRow, ExchangeStore } from '../db/exchange-store.ts';
import type { Logger } from '../log/logger.ts';
import type { TransferRoots } from '../transfer/transfer-roots.ts';
import type { WebhookDispatcher } from '../webhooks/webhook-dispatcher.ts';
import { ExchangeEvents, SERVER_SOURCE } from './exchange-events.ts';
import type { ObjectStore } from './object-store.ts';
import { saveToRoots } from './save-to-roots.ts';
import { hashFile, openServerFile, verifying } from './server-file.ts';

const HOUR_MS = 3_600_000;
/** Objects live 48 h (the reference's figure), whatever the download URL's 1–12 h. */
export const EXCHANGE_TTL_MS = 48 * HOUR_MS;
/** Deadline of one agent call that moves a file (and lifetime of the part URLs it is given). */
const AGENT_TRANSFER_MS = 6 * HOUR_MS;
/** Lifetime of a URL the server signs for its own or a delivery's immediate GET. */
const FETCH_URL_S = 6 * 3600;
const PREFIX = 'transfers/';

export interface ExchangeUploadRequest {
  /** Server file (in a transfer root), or `clientPath` on `sourceClient`. */
  localPath?: string | undefined;
  clientPath?: string | undefined;
  sourceClient?: string | undefined;
  destClient?: string | undefined;
  destPath?: string | undefined;
  expiresHours: number;
}

export interface ExchangeDownloadRequest {
  downloadUrl?: string | undefined;
  transferId?: string | undefined;
  localPath?: string | undefined;
  clientPath?: string | undefined;
  /** The client that fetches into `clientPath`. */
  client?: string | undefined;
}

export interface ExchangeServiceDeps {
  /** The bucket, or the R2_NOT_CONFIGURED error every call then throws. */
  bucket: ObjectStore | ReachError;
  exchanges: ExchangeStore;
  roots: TransferRoots;
  clients: ClientService;
  webhooks: Pick<WebhookDispatcher, 'enqueue'>;
  audit: Pick<AuditLog, 'record'>;
  log: Logger;
  now?: () => number;
}

export interface ExchangeCallOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((done: number, total: number | undefined) => void) | undefined;
}

/**
 * File exchange through the bucket (exchange_* tools): uploads from the server's transfer roots or
 * straight from a client (presigned part URLs; the bytes never cross the server), downloads to
 * either, delivery to an offline destination when it connects, and the 48 h expiry sweep. Every
 * step leaves a `r2_transfer` webhook; a file landing on a destination a `file_transferred` one.
 */
export class ExchangeService {
  readonly #deps: ExchangeServiceDeps;
  readonly #now: () => number;
  readonly #delivering = new Set<string>();
  readonly #events: ExchangeEvents;
  #onConnected: ((e: { client: { uuid: string } }) => void) | undefined;

  constructor(deps: ExchangeServiceDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#events = new ExchangeEvents(deps.clients, deps.webhooks);
  }

  /** Whether a bucket is configured (exchange tools fail with R2_NOT_CONFIGURED otherwise). */
  get configured(): boolean {
    return !(this.#deps.bucket instanceof ReachError);
  }

  get bucket(): ObjectStore {
    const b = this.#deps.bucket;
    if (b instanceof ReachError) throw b;
    return b;
  }

  /** Starts delivering pending exchanges to clients as they connect. */
  start(): void {
    if (!this.configured || this.#onConnected) return;
    this.#onConnected = ({ client }) => {
      void this.deliverPending(client.uuid);
    };
    this.#deps.clients.on('connected', this.#onConnected);
  }

  close(): void {
    if (this.#onConnected) this.#deps.clients.off('connected', this.#onConnected);
    this.#onConnected = undefined;
    if (this.configured) this.bucket.close();
  }

  async upload(req: ExchangeUploadRequest, opts: ExchangeCallOptions = {}) {
    const bucket = this.bucket;
    const transferId = randomUUID();
    const source = req.clientPath !== undefined ? req.sourceClient : SERVER_SOURCE;
    if (source === undefined) throw new ReachError('INVALID_ARGUMENT', 'client_path needs a source client');
    if ((req.localPath === undefined) === (req.clientPath === undefined)) {
      throw new ReachError('INVALID_ARGUMENT', 'give exactly one of local_path and client_path');
    }
    if (req.destPath !== undefined && req.destClient === undefined) {
      throw new ReachError('INVALID_ARGUMENT', 'dest_path needs dest_client');
    }
    const path = (req.clientPath ?? req.localPath)!;
    const filename = basename(path);
    const key = `${PREFIX}${source}/${transferId}/${filename}`;
    const meta = (size: number, sha256: string) => ({
      sha256,
      size: String(size),
      transfer_id: transferId,
      source_client: source,
      dest_client: req.destClient ?? '',
      // Metadata values must be ASCII.
      filename: encodeURIComponent(filename),
    });
    let size: number;
    let sha256: string;
    if (req.clientPath !== undefined) {
      const call = { signal: opts.signal, timeoutMs: AGENT_TRANSFER_MS };
      const stat = await this.#deps.clients.call(source, 'exchange_stat', { path: req.clientPath }, call);
      ({ size, sha256 } = stat);
      const plan = await bucket.planUpload(key, size, meta(size, sha256), AGENT_TRANSFER_MS / 1000);
      try {
        const put = await this.#deps.clients.call(
          source,
          'exchange_put',
          { path: req.clientPath, size, sha256, parts: plan.parts },
          call,
        );
        await plan.complete(put.parts);
      } catch (err) {
        await plan.abort();
        throw err;
      }
    } else {
      const local = await this.#deps.roots.check(req.localPath!, 'read');
      const fh = await openServerFile(this.#deps.roots, local, req.localPath!);
      try {
        ({ size, sha256 } = await hashFile(fh));
        const body = fh
          .createReadStream({ autoClose: false, start: 0 })
          .pipe(verifying(sha256, req.localPath!));
        await bucket.put(key, body, size, meta(size, sha256), {
          signal: opts.signal,
          onProgress: (done) => opts.onProgress?.(done, size),
        });
      } finally {
        await fh.close();
      }
    }
    const now = this.#now();
    const row: ExchangeRow = {
      transfer_id: transferId,
      object_key: key,
      source_client: source,
      dest_client: req.destClient ?? null,
      dest_path: req.destPath ?? null,
      filename,
      size,
      sha256,
      state: req.destPath !== undefined ? 'pending' : 'stored',
      error: null,
      created_at: now,
      expires_at: now + EXCHANGE_TTL_MS,
      delivered_at: null,
    };
    this.#deps.exchanges.insert(row);
    this.#events.uploaded(row);
    const expiresS = Math.round(req.expiresHours * 3600);
    const result = {
      transfer_id: transferId,
      key,
      download_url: await bucket.presignGet(key, expiresS),
      expires_at: new Date(now + expiresS * 1000).toISOString(),
      object_expires_at: new Date(row.expires_at).toISOString(),
      size,
      sha256,
      filename,
      source_client: source,
      dest_client: req.destClient ?? null,
      state: row.state as string,
    };
    if (row.state === 'pending' && this.#isOnline(row.dest_client!)) {
      await this.deliverPending(row.dest_client!);
      result.state = this.#deps.exchanges.get(transferId)?.state ?? row.state;
    }
    return result;
  }

  async download(req: ExchangeDownloadRequest, opts: ExchangeCallOptions = {}) {
    const bucket = this.bucket;
    if ((req.localPath === undefined) === (req.clientPath === undefined)) {
      throw new ReachError('INVALID_ARGUMENT', 'give exactly one of local_path and client_path');
    }
    let key: string;
    let url: string;
    if (req.downloadUrl !== undefined) {
      const k = bucket.keyOfUrl(req.downloadUrl);
      if (k === undefined || !k.startsWith(PREFIX)) {
        throw new ReachError(
          'INVALID_ARGUMENT',
          'download_url is not an exchange object of this server’s bucket',
          {
            recoveryHint: 'pass the download_url exchange_upload returned, or the transfer_id',
          },
        );
      }
      key = k;
      // Used as given: the bucket checks its signature and expiry.
      url = req.downloadUrl;
    } else if (req.transferId !== undefined) {
      key = await this.#keyOf(req.transferId);
      url = await bucket.presignGet(key, FETCH_URL_S);
    } else {
      throw new ReachError('INVALID_ARGUMENT', 'give download_url or transfer_id');
    }
    const row = this.#deps.exchanges.byKey(key);
    if (req.clientPath !== undefined) {
      const fetched = await this.#deps.clients.call(
        req.client!,
        'exchange_fetch',
        { url, path: req.clientPath, ...(row ? { sha256: row.sha256, size: row.size } : {}) },
        { signal: opts.signal, timeoutMs: AGENT_TRANSFER_MS },
      );
      this.#events.landed(req.client!, key, req.clientPath, fetched.size, fetched.sha256);
      return { client_path: req.clientPath, size: fetched.size, sha256: fetched.sha256, key };
    }
    const local = await this.#deps.roots.check(req.localPath!, 'write');
    const res = await presignedRequest(url, {
      method: 'GET',
      signal: opts.signal,
      errorCode: 'R2_DOWNLOAD_ERROR',
    });
    const meta = res.headers['x-amz-meta-sha256'];
    const want = row?.sha256 ?? (typeof meta === 'string' ? meta : undefined);
    if (want === undefined) {
      res.destroy();
      throw new ReachError('R2_DOWNLOAD_ERROR', 'the object carries no sha256 to verify against');
    }
    let saved: { size: number; sha256: string };
    try {
      saved = await saveToRoots(this.#deps.roots, local, res, want);
    } catch (err) {
      res.destroy();
      throw err instanceof ReachError ? err : fsError(err, req.localPath!);
    }
    this.#events.landed(SERVER_SOURCE, key, local, saved.size, saved.sha256);
    return { local_path: local, size: saved.size, sha256: saved.sha256, key };
  }

  /** Delivers every pending exchange addressed to `uuid`, one at a time; a second call while busy is a no-op. */
  async deliverPending(uuid: string): Promise<void> {
    if (this.#delivering.has(uuid)) return;
    this.#delivering.add(uuid);
    try {
      for (const row of this.#deps.exchanges.pendingFor(uuid)) {
        if (!this.#isOnline(uuid)) return;
        await this.#deliver(row);
      }
    } finally {
      this.#delivering.delete(uuid);
    }
  }

  async #deliver(row: ExchangeRow): Promise<void> {
    const started = this.#now();
    let outcome = 'OK';
    try {
      const url = await this.bucket.presignGet(row.object_key, FETCH_URL_S);
      const fetched = await this.#deps.clients.call(
        row.dest_client!,
        'exchange_fetch',
        { url, path: row.dest_path!, sha256: row.sha256, size: row.size },
        { timeoutMs: AGENT_TRANSFER_MS },
      );
      this.#deps.exchanges.setState(row.transfer_id, 'delivered', { delivered_at: this.#now() });
      this.#events.landed(row.dest_client!, row.object_key, row.dest_path!, fetched.size, fetched.sha256);
    } catch (err) {
      const e = toReachError(err);
      outcome = e.code;
      // A link that dropped mid-delivery is retried on the next connect; anything else is final.
      const retry = e.code === 'CONNECTION_ERROR' || e.code === 'NO_ACTIVE_CLIENT' || e.code === 'TIMEOUT';
      this.#deps.exchanges.setState(row.transfer_id, retry ? 'pending' : 'failed', { error: e.message });
      this.#deps.log.warn(
        { clientId: row.dest_client, transfer: row.transfer_id, code: e.code },
        'exchange delivery failed',
      );
    } finally {
      this.#deps.audit.record({
        caller: 'server:deliver-on-connect',
        client_uuid: row.dest_client,
        tool: 'exchange_deliver',
        arguments: { transfer_id: row.transfer_id, key: row.object_key, dest_path: row.dest_path },
        outcome,
        duration_ms: this.#now() - started,
      });
    }
  }

  async #keyOf(transferId: string): Promise<string> {
    const row = this.#deps.exchanges.get(transferId);
    if (row && row.state !== 'deleted' && row.state !== 'expired') return row.object_key;
    throw new ReachError('FILE_NOT_FOUND', `no live exchange ${transferId}`, {
      details: { transfer_id: transferId },
      recoveryHint: 'exchange_list shows the live ones; objects expire after 48 h',
    });
  }

  #isOnline(uuid: string): boolean {
    try {
      this.#deps.clients.onlineClient(uuid);
      return true;
    } catch {
      return false;
    }
  }
}
