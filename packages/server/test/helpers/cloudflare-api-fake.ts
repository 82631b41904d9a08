/**
 * A loopback HTTP server speaking the Cloudflare v4 API's account-token endpoints (the real paths
 * under /client/v4/accounts/<id>/tokens and the `{success, errors, messages, result}` envelope),
 * for the key-rotation tests. `hooks` let the S3 server accept a created token's key pair and
 * refuse a deleted one. `POST /__test/fail-deletes` (test control, not Cloudflare's) makes every
 * later delete fail with a 500 envelope.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CloudflareFakeOptions {
  apiToken: string;
  accountId: string;
  /** Tokens that exist before any rotation (the S3 key in use). */
  initialTokens: string[];
  onCreate(accessKeyId: string, secretAccessKey: string): void;
  onDelete(accessKeyId: string): void;
}

const R2_WRITE = { id: 'bf7481a1826f439697cb59a20b22293e', name: 'Workers R2 Storage Bucket Item Write' };

export async function startCloudflareFake(
  o: CloudflareFakeOptions,
): Promise<{ port: number; close(): void }> {
  const tokens = new Map<string, { id: string; name: string; issued_on: string; status: string }>();
  for (const id of o.initialTokens) {
    tokens.set(id, { id, name: 'initial', issued_on: new Date().toISOString(), status: 'active' });
  }
  let failDeletes = false;
  const send = (res: ServerResponse, status: number, result: unknown, errors: unknown[] = []): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: errors.length === 0, errors, messages: [], result }));
  };
  const body = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'POST' && url.pathname === '/__test/fail-deletes') {
        failDeletes = true;
        return send(res, 200, null);
      }
      if (req.headers.authorization !== `Bearer ${o.apiToken}`) {
        return send(res, 401, null, [{ code: 10000, message: 'Authentication error' }]);
      }
      const base = `/client/v4/accounts/${o.accountId}/tokens`;
      if (req.method === 'GET' && url.pathname === base) return send(res, 200, [...tokens.values()]);
      if (req.method === 'GET' && url.pathname === `${base}/permission_groups`) {
        return send(res, 200, [{ id: 'c8fed203ed3043cba015a93ad1616f1f', name: 'Zone Read' }, R2_WRITE]);
      }
      if (req.method === 'POST' && url.pathname === base) {
        const b = (await body(req)) as {
          name?: string;
          policies?: Array<{ resources?: Record<string, string>; permission_groups?: Array<{ id: string }> }>;
        };
        const policy = b?.policies?.[0];
        const resource = Object.keys(policy?.resources ?? {})[0] ?? '';
        if (
          !b?.name ||
          !resource.startsWith(`com.cloudflare.edge.r2.bucket.${o.accountId}_default_`) ||
          policy?.permission_groups?.[0]?.id !== R2_WRITE.id
        ) {
          return send(res, 400, null, [{ code: 1001, message: 'Invalid policy' }]);
        }
        const id = randomBytes(16).toString('hex');
        const value = randomBytes(30).toString('base64url');
        const t = { id, name: b.name, issued_on: new Date().toISOString(), status: 'active' };
        tokens.set(id, t);
        o.onCreate(id, createHash('sha256').update(value).digest('hex'));
        return send(res, 200, { ...t, value });
      }
      const m = new RegExp(`^${base}/([^/]+)$`).exec(url.pathname);
      if (req.method === 'DELETE' && m) {
        if (failDeletes) return send(res, 500, null, [{ code: 10001, message: 'Internal server error' }]);
        const id = decodeURIComponent(m[1]!);
        if (!tokens.delete(id)) return send(res, 404, null, [{ code: 1003, message: 'Token not found' }]);
        o.onDelete(id);
        return send(res, 200, { id });
      }
      send(res, 404, null, [{ code: 7003, message: 'No route for that URI' }]);
    })().catch((err: unknown) => send(res, 500, null, [{ code: 10000, message: String(err) }]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => server.close() };
}
