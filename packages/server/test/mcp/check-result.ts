import assert from 'node:assert/strict';
import { allTools } from '../../src/mcp/tools/index.ts';

const byName = new Map(allTools.map((t) => [t.name, t]));

/**
 * Asserts a tool's successful result is exactly what its declared `result` schema (the one
 * docs/tools.md prints) describes: a missing or mistyped field fails the parse, a field the schema
 * does not name is stripped by it and fails the comparison. Tests only: production never pays for it.
 */
export function checkResult(tool: string, body: unknown): void {
  const schema = byName.get(tool)?.result;
  if (schema === undefined) return;
  const parsed = schema.safeParse(body);
  assert.ok(
    parsed.success,
    `${tool} result does not match its declared schema: ${parsed.error?.message}\n${JSON.stringify(body).slice(0, 2000)}`,
  );
  assert.deepEqual(parsed.data, body, `${tool} result has fields its declared schema does not name`);
}
