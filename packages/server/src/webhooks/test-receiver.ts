import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature } from './webhook-signature.ts';

export interface WebhookTestReceiverOptions {
  /** 0 picks an ephemeral port. */
  port: number;
  host?: string;
  /** One JSON line per accepted (non-duplicate) event is appended here. */
  logFile: string;
  /** When set, requests without a valid signature are refused with 401. */
  secret?: string;
  /** Replay window for the signature timestamp, seconds (default 300). */
  toleranceS?: number;
}

export interface WebhookTestReceiverStats {
  /** Events accepted and logged. */
  received: number;
  /** Requests for an id already logged (answered 200, not logged again). */
  duplicates: number;
  /** Requests refused (bad signature, bad body). */
  rejected: number;
}

export interface RunningWebhookTestReceiver {
  port: number;
  stats(): WebhookTestReceiverStats;
  close(): Promise<void>;
}

/** Largest body accepted; more is refused with 413 before it is buffered. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Ids remembered for deduplication (oldest forgotten first). */
const MAX_IDS = 100_000;

const Payload = z.looseObject({ id: z.string().min(1), event: z.string() });

/**
 * The small receiver the reference ships, for trying webhooks out: accepts POST on any path,
 * verifies `X-Webhook-Signature` when a secret is given, deduplicates by event id (also across its
 * own restarts, by reading back the log), and appends `{received_at, verified, payload}` as one JSON
 * line per event before answering 200.
 */
export async function runWebhookTestReceiver(
  opts: WebhookTestReceiverOptions,
): Promise<RunningWebhookTestReceiver> {
  const seen = new Set<string>(loggedIds(opts.logFile));
  const stats: WebhookTestReceiverStats = { received: 0, duplicates: 0, rejected: 0 };

  const reply = (res: ServerResponse, status: number, body: Record<string, unknown>): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const reject = (res: ServerResponse, status: number, error: string): void => {
    stats.rejected++;
    reply(res, status, { ok: false, error });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      return reject(res, 405, 'POST only');
    }
    const raw = await readBody(req);
    if (raw === undefined) {
      res.setHeader('connection', 'close');
      return reject(res, 413, `body over ${MAX_BODY_BYTES} bytes`);
    }
    let verified: boolean | null = null;
    if (opts.secret !== undefined) {
      verified = verifyWebhookSignature({
        secret: opts.secret,
        body: raw,
        timestamp: header(req, TIMESTAMP_HEADER),
        signature: header(req, SIGNATURE_HEADER),
        ...(opts.toleranceS === undefined ? {} : { toleranceS: opts.toleranceS }),
      });
      if (!verified) return reject(res, 401, 'invalid or missing signature');
    }
    let parsed: z.infer<typeof Payload>;
    try {
      parsed = Payload.parse(JSON.parse(raw.toString('utf8')));
    } catch {
      return reject(res, 400, 'body is not a webhook event (JSON with id and event)');
    }
    if (seen.has(parsed.id)) {
      stats.duplicates++;
      return reply(res, 200, { ok: true, duplicate: true });
    }
    // Logged before the 200: an acknowledged event is on disk.
    appendFileSync(
      opts.logFile,
      `${JSON.stringify({ received_at: new Date().toISOString(), verified, payload: parsed })}\n`,
    );
    remember(seen, parsed.id);
    stats.received++;
    reply(res, 200, { ok: true, duplicate: false });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, { ok: false, error: String(err) });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    stats: () => ({ ...stats }),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

export interface WebhookTestReceiverCommandDeps {
  /** The configured webhook secret (REACH_WEBHOOK_SECRET); `--secret` overrides it. */
  secret?: string;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Stops the receiver; default: the first SIGINT or SIGTERM. */
  signal?: AbortSignal;
}

const USAGE = 'usage: reach-server webhook-test-receiver [--port N] [--host H] [--log FILE] [--secret S]';

/**
 * `reach-server webhook-test-receiver --port N --log FILE`: runs the receiver until stopped.
 * Returns the exit code (2 for a usage error).
 */
export async function webhookTestReceiverCommand(
  argv: string[],
  deps: WebhookTestReceiverCommandDeps = {},
): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  let values: { port?: string; host?: string; log?: string; secret?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        log: { type: 'string', short: 'l' },
        secret: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    stdout.write(`${USAGE}\n`);
    return 0;
  }
  const port = Number(values.port ?? '9090');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    stderr.write(`--port must be an integer 0-65535\n${USAGE}\n`);
    return 2;
  }
  const logFile = values.log ?? 'webhooks.jsonl';
  const secret = values.secret ?? deps.secret;
  const host = values.host ?? '127.0.0.1';
  const receiver = await runWebhookTestReceiver({
    port,
    host,
    logFile,
    ...(secret === undefined ? {} : { secret }),
  });
  stdout.write(
    `webhook test receiver on http://${host}:${receiver.port}/ logging to ${logFile}` +
      `${secret === undefined ? ' (signatures not checked)' : ' (signatures checked)'}\n`,
  );
  await new Promise<void>((resolve) => {
    if (deps.signal !== undefined) {
      if (deps.signal.aborted) resolve();
      else deps.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await receiver.close();
  const s = receiver.stats();
  stdout.write(`received ${s.received}, duplicates ${s.duplicates}, rejected ${s.rejected}\n`);
  return 0;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The body, or undefined when it exceeds MAX_BODY_BYTES (reading stops there). */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function remember(seen: Set<string>, id: string): void {
  seen.add(id);
  if (seen.size > MAX_IDS) {
    const oldest = seen.values().next().value;
    if (oldest !== undefined) seen.delete(oldest);
  }
}

const LogLine = z.object({ payload: z.object({ id: z.string() }) });

/** Ids already in the log (the newest MAX_IDS), so a restarted receiver still deduplicates. */
function loggedIds(file: string): string[] {
  if (!existsSync(file)) return [];
  const ids: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = LogLine.safeParse(JSON.parse(line));
      if (r.success) ids.push(r.data.payload.id);
    } catch {
      // A torn last line from a crash: skip it.
    }
  }
  return ids.slice(-MAX_IDS);
}
