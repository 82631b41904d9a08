/**
 * The generated reference pages in docs/ are what `npm run docs` writes from the code today: a tool
 * schema or a server option changed without regenerating them fails here.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { generatedDocs } from '../../../scripts/docs/generated-docs.ts';
import { renderToolsDoc } from '../../../scripts/docs/render-tools.ts';
import { allTools } from '../src/mcp/tools/index.ts';
import { checkResult } from './mcp/check-result.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

test('the committed docs/ pages are up to date (npm run docs)', async () => {
  for (const [path, text] of Object.entries(generatedDocs())) {
    const committed = await readFile(join(ROOT, path), 'utf8');
    assert.ok(committed === text, `${path} is stale: run \`npm run docs\` and commit it`);
  }
});

test('every tool declares its result schema and its errors', () => {
  for (const tool of allTools) {
    assert.ok(tool.result !== undefined, `${tool.name} declares no result schema`);
    assert.ok(tool.errors !== undefined, `${tool.name} declares no errors`);
  }
  assert.doesNotMatch(renderToolsDoc(), /no result schema/);
});

test('a result that does not match its declared schema fails the MCP tests', () => {
  const good = { stdout: 'hi', stderr: '', returncode: 0, duration_ms: 3, truncated: false };
  assert.doesNotThrow(() => checkResult('run_command', good));
  assert.throws(() => checkResult('run_command', { ...good, returncode: undefined }), /run_command result/);
  assert.throws(() => checkResult('run_command', { ...good, undeclared: 1 }), /run_command result/);
});

test('docs/tools.md names every tool and every parameter with its limits', () => {
  const doc = renderToolsDoc();
  for (const tool of allTools) {
    assert.ok(doc.includes(`\n## ${tool.name}\n`), tool.name);
    for (const param of Object.keys(tool.input.shape))
      assert.ok(doc.includes(`| \`${param}\` |`), `${tool.name}.${param}`);
  }
  assert.match(doc, /\| `cmd` \| `string` \| yes \| {2}\| 1–10000 chars \|/);
  // The reference does not point at files a clone does not have.
  assert.doesNotMatch(doc, /\.\.\/shared/);
});
