import { createHash } from 'node:crypto';

/** What a secret value is replaced with. */
export const REDACTED = '[REDACTED]';

/** Key words that mark a secret, matched against the words of a key (`ssh_password`, `apiKey`, …). */
const SECRET_WORDS = new Set(['password', 'passwd', 'passphrase', 'secret', 'token', 'authorization']);
/** Two-word secrets (also written as one word: `apikey`, `privateKey`). */
const SECRET_PAIRS = ['api_key', 'private_key'];

/** Bounds so a pathological argument cannot make an audit row huge. */
const MAX_DEPTH = 10;
const MAX_STRING = 10_000;
const MAX_ITEMS = 1000;

/** `apiKey`, `api-key`, `API_KEY` → `api_key`. */
function normalize(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[-\s.]+/g, '_');
}

/** True for a key whose value must never be stored or logged. */
export function isSecretKey(key: string): boolean {
  const k = normalize(key);
  const words = k.split('_');
  if (words.some((w) => SECRET_WORDS.has(w))) return true;
  const joined = `_${k}_`;
  return SECRET_PAIRS.some((p) => joined.includes(`_${p}_`) || words.includes(p.replace('_', '')));
}

/** `{ size, sha256 }` of a file body: its bytes (base64 decoded when `binary`), never the bytes. */
export function summarizeContent(
  content: string | Uint8Array,
  binary = false,
): { size: number; sha256: string } {
  const bytes =
    typeof content === 'string' ? Buffer.from(content, binary ? 'base64' : 'utf8') : Buffer.from(content);
  return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** A URL without its password and query (a presigned URL's query is a bearer credential). */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.password !== '') u.password = REDACTED;
  if (u.search !== '') u.search = `?${REDACTED}`;
  return u.toString();
}

/**
 * A copy of tool arguments that is safe to store: secrets (`password`, `passphrase`, `secret`,
 * `token`, `api_key`, `private_key`, at any depth, in any spelling) become '[REDACTED]'; `content`
 * bodies become `{ size, sha256 }`; `env` maps keep their keys only; URLs lose password and query.
 * Strings, arrays and nesting are bounded.
 */
export function redactArguments(value: unknown): unknown {
  return redact(value, 0);
}

function redact(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    return value.length > MAX_STRING
      ? `${value.slice(0, MAX_STRING)}…[+${value.length - MAX_STRING} chars]`
      : value;
  }
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : value;
  }
  if (depth >= MAX_DEPTH) return '[TRUNCATED]';
  if (value instanceof Uint8Array) return summarizeContent(value);
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => redact(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`…[+${value.length - MAX_ITEMS} items]`);
    return items;
  }
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    if (isSecretKey(key)) out[key] = REDACTED;
    else if (key === 'content' && (typeof v === 'string' || v instanceof Uint8Array)) {
      out[key] = summarizeContent(v, obj.binary === true);
    } else if (key === 'env' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out[key] = Object.keys(v).sort();
    } else if (typeof v === 'string' && /url$/i.test(key)) out[key] = redactUrl(v);
    else out[key] = redact(v, depth + 1);
  }
  return out;
}
