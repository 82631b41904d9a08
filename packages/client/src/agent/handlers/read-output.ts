import { LIMITS, ReadOutputParams, type ReadOutputResult } from '@reach/protocol';
import type { OutputStore } from '../../output-store/output-store.ts';
import { defineHandler } from './define-handler.ts';
import { encodePage } from './encode-page.ts';

/**
 * `read_output`: a page of a stored command output (run_command's `output_id`), paged like
 * read_file: `length` bytes from `offset`, text or base64, `eof` at the end of what was kept.
 */
export function readOutputHandler(store: OutputStore) {
  return defineHandler(ReadOutputParams, async (p): Promise<ReadOutputResult> => {
    const maxBytes = p.max_bytes ?? LIMITS.defaultResultBytes;
    const want = Math.min(p.length ?? maxBytes, maxBytes);
    const { bytes, size, complete } = await store.read(p.output_id, p.stream, p.offset, want);
    const atEnd = p.offset + bytes.length >= size;
    const encoded = encodePage(bytes, maxBytes, atEnd);
    return {
      ...encoded,
      size,
      offset: p.offset,
      eof: atEnd && encoded.length === bytes.length,
      output_id: p.output_id,
      stream: p.stream,
      complete,
    };
  });
}
