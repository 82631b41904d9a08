import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  type ClientProcess,
  eventually,
  ROOT,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './harness.ts';

const run = promisify(execFile);

/**
 * The official MCP Python SDK (`mcp`, installed by .ci/run into .ci/venv) at its default settings,
 * which refuse any SSE event over 1 MiB: a 5 MiB command output and a 5 MiB file read come back
 * cut to the 256 KiB result cap with their sizes, the whole of each arrives through paging
 * (SHA-256 equal), and the session survives. Old code returned 5 MiB inline and the call failed.
 */
const PYTHON = process.env.REACH_TEST_PYTHON ?? join(ROOT, '.ci/venv/bin/python');
const SCRIPT = join(import.meta.dirname, 'python/paging_client.py');
const FIVE_MIB = 5 * 1024 * 1024;
const CAP = 256 * 1024;

interface Paged {
  sha256: string;
  bytes: number;
  pages: number;
  largest_result: number;
}
interface Findings {
  run_command_result_chars: number;
  run_command: {
    truncated: boolean;
    stdout_bytes: number;
    stderr_bytes: number;
    returncode: number;
    stdout_json_bytes: number;
  };
  auto_selected_client: { uuid: string; display_name: string };
  output_paged: Paged;
  read_file_result_chars: number;
  read_file: { size: number; offset: number; length: number; eof: boolean };
  file_paged: Paged;
  after: string;
}

// CI installs the SDK (.ci/run); elsewhere the test says how to get it instead of failing.
const missing = existsSync(PYTHON)
  ? false
  : `no Python with the mcp SDK at ${PYTHON} (bash .ci/run sets it up)`;

describe('the MCP Python SDK with default settings: big results are capped and paged', {
  skip: missing && !process.env.CI ? missing : false,
}, () => {
  let server: ServerProcess;
  let client: ClientProcess;
  let work: string;
  let file: string;
  let digest: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'reach-py-'));
    file = join(work, 'five-mib.txt');
    // Text (so read_file pages as text), 5 MiB exactly, unpredictable.
    const body = Buffer.from(randomBytes(FIVE_MIB).toString('base64').slice(0, FIVE_MIB));
    writeFileSync(file, body);
    digest = createHash('sha256').update(body).digest('hex');
    server = await startHttpServer();
    client = await startClient(server, { displayName: 'py-box' });
    await client.logs.waitFor((l) => l.msg === 'connected to server');
  });

  after(async () => {
    await client?.stop();
    await server?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  for (const [transport, path] of [
    ['http', '/mcp'],
    ['sse', '/sse'],
  ] as const) {
    test(`over ${transport === 'http' ? 'Streamable HTTP' : 'SSE'}`, async () => {
      const url = `http://127.0.0.1:${server.httpPort}${path}`;
      const found = await eventually(async () => {
        const { stdout } = await run(PYTHON, [SCRIPT, transport, url, file], {
          timeout: 120_000,
          maxBuffer: 1024 * 1024,
        });
        return JSON.parse(stdout) as Findings;
      }, 20_000);
      assert.equal(found.run_command.truncated, true);
      assert.equal(found.run_command.stdout_bytes, FIVE_MIB);
      assert.equal(found.run_command.returncode, 0);
      assert.ok(found.run_command.stdout_json_bytes <= CAP);
      assert.ok(found.run_command_result_chars < CAP + 4096, 'the whole result is about the cap');
      assert.equal(found.auto_selected_client.uuid, client.uuid, 'the only client online was used');
      assert.deepEqual(
        { sha256: found.output_paged.sha256, bytes: found.output_paged.bytes },
        { sha256: digest, bytes: FIVE_MIB },
      );
      assert.ok(found.output_paged.pages >= 20 && found.output_paged.largest_result < CAP + 4096);
      assert.deepEqual(found.read_file, { size: FIVE_MIB, offset: 0, length: CAP - 2, eof: false });
      assert.ok(found.read_file_result_chars < CAP + 4096);
      assert.deepEqual(
        { sha256: found.file_paged.sha256, bytes: found.file_paged.bytes },
        { sha256: digest, bytes: FIVE_MIB },
      );
      assert.equal(found.after, 'still-here\n');
    });
  }
});
