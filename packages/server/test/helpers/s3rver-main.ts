/**
 * A local S3 server for the exchange tests and bench:exchange, run as its own process:
 * `@20minutes/s3rver` (it checks SigV4 signatures and presigned-URL expiry), with one bucket and
 * one change that makes it as strict as S3 and R2: a request with no signature at all is refused
 * (s3rver lets anonymous requests through). Prints `{"port":N}` on stdout once listening.
 *
 * Usage: node s3rver-main.ts <directory> <port> <bucket> [<access key id> <secret> [<cf api token> <account id>]]
 * (the extra key pair is added to s3rver's one account, beside its built-in S3RVER/S3RVER). With
 * a Cloudflare API token, a fake of the Cloudflare token API (cloudflare-api-fake.ts) listens
 * too, and the tokens it creates and deletes are the key pairs this S3 server accepts:
 * `{"port":N,"cfPort":M}`.
 */
import S3rver from '@20minutes/s3rver';
import AWSAccount from '@20minutes/s3rver/lib/models/account.js';
import { startCloudflareFake } from './cloudflare-api-fake.ts';

const [directory, port, bucket, keyId, secret, cfToken, accountId] = process.argv.slice(2);
if (!directory || port === undefined || !bucket)
  throw new Error('usage: s3rver-main.ts <dir> <port> <bucket>');
if (keyId && secret) AWSAccount.DUMMY_ACCOUNT.createKeyPair(keyId, secret);

interface KoaContext {
  method: string;
  headers: Record<string, string | undefined>;
  query: Record<string, unknown>;
  status: number;
  type: string;
  body: unknown;
}
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory,
  silent: true,
  configureBuckets: [{ name: bucket, configs: [] }],
}) as unknown as {
  middleware: Array<(ctx: KoaContext, next: () => Promise<void>) => Promise<void>>;
  run(): Promise<{ port: number }>;
};
server.middleware.unshift(async (ctx, next) => {
  const signed = 'authorization' in ctx.headers || 'X-Amz-Algorithm' in ctx.query || 'Signature' in ctx.query;
  if (!signed) {
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Anonymous access is refused</Message></Error>';
    return;
  }
  await next();
});
const address = await server.run();
const cf =
  cfToken && accountId
    ? await startCloudflareFake({
        apiToken: cfToken,
        accountId,
        initialTokens: keyId ? [keyId] : [],
        onCreate: (id, sk) => AWSAccount.DUMMY_ACCOUNT.createKeyPair(id, sk),
        onDelete: (id) => AWSAccount.DUMMY_ACCOUNT.revokeAccessKey(id),
      })
    : undefined;
process.stdout.write(`${JSON.stringify({ port: address.port, cfPort: cf?.port })}\n`);
