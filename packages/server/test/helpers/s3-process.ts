/**
 * The local S3 server (s3rver-main.ts) as a child process on a loopback port, for the exchange
 * tests and bench:exchange.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stopChild } from '../../../../test-support/stop-child.ts';

const MAIN = join(import.meta.dirname, 's3rver-main.ts');
/** A key pair given to s3rver; the secret is distinctive so tests can look for leaks of it. */
export const S3_KEY = {
  accessKeyId: 'REACHTESTKEY1',
  secretAccessKey: 'reach-test-secret-7f3a9c1e',
} as const;
export const S3_BUCKET = 'reach-exchange';

export interface S3Process {
  child: ChildProcess;
  port: number;
  /** The Cloudflare API fake's base URL (`…/client/v4`), with `withCloudflare`. */
  cloudflareApi?: string;
  endpoint: string;
  /** REACH_S3_* for a reach-server pointed at `endpoint` (default: this server). */
  env(endpoint?: string): Record<string, string>;
  stop(): Promise<void>;
}

/** Account id and API token of the Cloudflare API fake (`withCloudflare`). */
export const CF_ACCOUNT = '0123456789abcdef0123456789abcdef';
export const CF_TOKEN = 'cf-test-api-token-5d2e';

export async function startS3(
  directory: string,
  opts: { withCloudflare?: boolean } = {},
): Promise<S3Process> {
  const cf = opts.withCloudflare ? [CF_TOKEN, CF_ACCOUNT] : [];
  const args = [MAIN, directory, '0', S3_BUCKET, S3_KEY.accessKeyId, S3_KEY.secretAccessKey, ...cf];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`s3rver exited ${code}: ${stderr}`)));
  });
  const { port, cfPort } = JSON.parse(line) as { port: number; cfPort?: number };
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    child,
    port,
    endpoint,
    ...(cfPort ? { cloudflareApi: `http://127.0.0.1:${cfPort}/client/v4` } : {}),
    env: (ep = endpoint) => ({
      REACH_S3_ENDPOINT: ep,
      REACH_S3_BUCKET: S3_BUCKET,
      REACH_S3_ACCESS_KEY_ID: S3_KEY.accessKeyId,
      REACH_S3_SECRET_ACCESS_KEY: S3_KEY.secretAccessKey,
      REACH_S3_FORCE_PATH_STYLE: 'true',
      REACH_S3_REGION: 'auto',
    }),
    stop: () => stopChild(child),
  };
}
