import { stat } from 'node:fs/promises';
import { LIMITS, ReachError, ReadFileParams, type ReadFileResult } from '@reach/protocol';
import { fsError } from '@reach/protocol/node';
import type { PathPolicy } from '../path-policy.ts';
import { readAllowedChecked } from '../read-allowed-file.ts';
import { defineHandler } from './define-handler.ts';

export interface ReadFileDeps {
  policy: PathPolicy;
  /** Largest body returned inline, in bytes. */
  maxFileBytes?: number;
}

export function tooLarge(path: string, size: number, limit: number): ReachError {
  return new ReachError('FILE_TOO_LARGE', `file is ${size} bytes, over the ${limit}-byte limit: ${path}`, {
    details: { path, size, limit },
    recoveryHint: 'use download_file',
  });
}

/** `read_file`: UTF-8 text as is, anything else base64 with `binary: true`. */
export function readFileHandler(deps: ReadFileDeps) {
  const limit = deps.maxFileBytes ?? LIMITS.maxFileBytes;
  return defineHandler(ReadFileParams, async ({ path }): Promise<ReadFileResult> => {
    const resolved = await deps.policy.check(path);
    return readChecked(deps.policy, path, resolved, limit);
  });
}

/**
 * The part of `read_file` after the check: `resolved` is what `policy.check(path)` returned. The
 * file is opened without following a final symlink and confirmed inside the policy by its open
 * descriptor (openConfirmed), and read only through that descriptor.
 */
export async function readChecked(
  policy: PathPolicy,
  path: string,
  resolved: string,
  limit: number,
): Promise<ReadFileResult> {
  try {
    // A directory gets its own answer; everything else is readAllowedChecked's (regular files
    // only, the size limit checked before reading, read through a confirmed descriptor).
    if ((await stat(resolved)).isDirectory()) {
      throw new ReachError('INVALID_ARGUMENT', `is a directory: ${path}`, {
        details: { path },
        recoveryHint: 'use list_files',
      });
    }
    const body = await readAllowedChecked(policy, path, resolved, limit, tooLarge);
    const text = decodeUtf8(body);
    // Text that JSON escaping would blow past one frame (control bytes become \u00XX) goes as
    // base64, which is at most 4/3 of the limit.
    const fits = text !== null && Buffer.byteLength(JSON.stringify(text)) <= LIMITS.maxFrameBytes - 64 * 1024;
    return text === null || !fits
      ? { content: body.toString('base64'), size: body.length, path, binary: true }
      : { content: text, size: body.length, path };
  } catch (err) {
    throw fsError(err, path);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(body: Buffer): string | null {
  try {
    return utf8.decode(body);
  } catch {
    return null;
  }
}
