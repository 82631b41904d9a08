/**
 * The README's "first call without Claude Code" blocks, run as written (bash, curl, npx, the
 * Inspector CLI) against a real daemon and a real client; only the daemon's port is the test's own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type ClientProcess,
  eventually,
  ROOT,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './mcp/harness.ts';

const API_KEY = 'readme-first-call-key-0123456789';

/** The fenced bash block that follows `<!-- first-call: NAME … -->` in the README. */
async function readmeBlock(name: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- first-call: ${name} `);
  assert.ok(at >= 0, `README has a first-call: ${name} block`);
  const block = /```bash\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block?.[1], `a bash block after first-call: ${name}`);
  return block[1];
}

function bash(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('README first call', () => {
  let server: ServerProcess;
  let client: ClientProcess;
  let env: Record<string, string>;
  before(async () => {
    server = await startHttpServer({ apiKey: API_KEY });
    client = await startClient(server, { displayName: 'readme' });
    await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${server.httpPort}/health`);
      const body = (await res.json()) as { clients: { online: number } };
      return body.clients.online >= 1 ? true : undefined;
    });
    env = {
      // The README's commands run inside the clone, where npx finds the repository's Node 24 first.
      PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '/tmp',
      REACH_API_KEY: API_KEY,
      REACH_HOME: client.home,
    };
  });
  after(async () => {
    await client?.stop();
    await server?.stop();
  });

  for (const name of ['curl', 'inspector']) {
    test(`the ${name} block runs run_command on the client`, async () => {
      const script = (await readmeBlock(name)).replaceAll('127.0.0.1:8765', `127.0.0.1:${server.httpPort}`);
      const r = await bash(script, env);
      assert.equal(r.code, 0, r.stderr);
      // The tool's JSON, escaped once inside the JSON-RPC answer (curl) or as the content text (Inspector).
      assert.match(r.stdout, /\\?"returncode\\?":0/, r.stdout);
      assert.match(r.stdout, /\\?"stdout\\?":\s*\\?"Linux /, r.stdout);
    });
  }
});
