import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ErrorCode, ReachError } from '../errors.ts';

export interface PresignedRequest {
  method: 'GET' | 'PUT';
  /** Headers the URL was signed with, plus Content-Length for a PUT. */
  headers?: Readonly<Record<string, string>>;
  /** A PUT's body; it must carry exactly `Content-Length` bytes (S3 refuses chunked uploads). */
  body?: Readable;
  signal?: AbortSignal | undefined;
  /** Milliseconds without a byte either way before the request is dropped (default 60 s). */
  idleTimeoutMs?: number;
  /** The code a failure is reported with: R2_UPLOAD_ERROR or R2_DOWNLOAD_ERROR. */
  errorCode: ErrorCode;
}

/** Bytes of an S3 error body read to find its `<Code>` (they are a few hundred bytes). */
const MAX_ERROR_BODY = 16 * 1024;

/**
 * One request to a presigned S3 URL with node:http(s), streaming both ways (constant memory
 * whatever the size). Resolves with the response once its status is 2xx, its body unread; any
 * other status is read (bounded) and thrown as `errorCode` with the S3 error code in details
 * (`SignatureDoesNotMatch`, `AccessDenied` for an expired URL, …). The URL's query (the
 * signature) never appears in a message.
 */
export async function presignedRequest(url: string, req: PresignedRequest): Promise<IncomingMessage> {
  const target = new URL(url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new ReachError('INVALID_ARGUMENT', 'presigned URL must be http(s)');
  }
  const shown = `${target.origin}${target.pathname}`;
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const idle = req.idleTimeoutMs ?? 60_000;
  const fail = (message: string, cause?: unknown, details: Record<string, unknown> = {}): ReachError =>
    new ReachError(req.errorCode, message, { details: { url: shown, ...details }, cause });
  return new Promise<IncomingMessage>((resolve, reject) => {
    const r = send(target, { method: req.method, headers: { ...req.headers }, signal: req.signal });
    r.setTimeout(idle, () => r.destroy(fail(`no data for ${idle} ms`)));
    r.on('error', (err) => {
      reject(
        req.signal?.aborted
          ? new ReachError('CANCELLED', 'request cancelled')
          : err instanceof ReachError
            ? err
            : fail(`bucket request failed: ${(err as Error).message}`, err),
      );
    });
    r.on('response', (res) => {
      res.setTimeout(idle, () => res.destroy(fail(`no data for ${idle} ms`)));
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        resolve(res);
        return;
      }
      const chunks: Buffer[] = [];
      let have = 0;
      res.on('data', (c: Buffer) => {
        if (have < MAX_ERROR_BODY) chunks.push(c);
        have += c.length;
      });
      res.on('error', (err) => reject(fail(`bucket answered ${status}`, err, { status })));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
        const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1];
        const message = /<Message>([^<]{1,300})<\/Message>/.exec(text)?.[1];
        reject(
          fail(
            `bucket refused the request: ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`,
            undefined,
            {
              status,
              s3_code: code ?? null,
            },
          ),
        );
      });
    });
    if (req.body) {
      pipeline(req.body, r).catch((err: unknown) => r.destroy(err as Error));
    } else {
      r.end();
    }
  });
}
