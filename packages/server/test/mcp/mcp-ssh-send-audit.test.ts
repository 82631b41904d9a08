import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ensureTestUser,
  generateKeyPair,
  isRoot,
  type SshdHandle,
  startSshd,
} from '../../../../test-support/openssh.ts';
import {
  type ClientProcess,
  eventually,
  type ServerProcess,
  startClient,
  startHttpServer,
} from './harness.ts';
import { fails, ok } from './mcp-client.ts';

const API_KEY = 'ssh-send-audit-key-9d02';
const TYPED_SECRET = 'Typed-at-prompt-4b8e1f';
const FLAGGED_SECRET = 'flagged-secret-73a5c0';
const MALFORMED_SECRET = 'malformed-call-secret-2e91';
const READ_PASSWORD = 'read -s -p "Password: " pw; echo "len=$(printf %s "$pw" | wc -c)"';

function summarizeSecretTextLike(text: string): { length: number; sha256: string } {
  return { length: text.length, sha256: createHash('sha256').update(text).digest('hex') };
}

/**
 * What the audit trail keeps of `ssh_session_send`: the text verbatim normally, only its length
 * and SHA-256 when it answers a password prompt the session just showed, or when the caller
 * marks it `sensitive`. A real sshd on loopback, reached through the server, tunnel and client.
 */
describe('ssh_session_send: secrets typed at a prompt stay out of the audit trail', {
  skip: !isRoot(),
}, () => {
  let dir: string;
  let sshd: SshdHandle;
  let user: string;
  let keyFile: string;
  let server: ServerProcess;
  let agent: ClientProcess;
  let mcp: Client;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reach-ssh-send-audit-'));
    user = await ensureTestUser('reachtest', 'Reach-test-pw-7f3a9c');
    keyFile = join(dir, 'id_ed25519');
    sshd = await startSshd({ authorizedKeys: [await generateKeyPair(keyFile)] });
    server = await startHttpServer({ apiKey: API_KEY });
    agent = await startClient(server, { displayName: 'jumpbox' });
    mcp = new Client({ name: 'ssh-send-audit-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.httpPort}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
      }),
    );
    await eventually(async () => ((await ok(mcp, 'list_clients')).online_count === 1 ? true : undefined));
    await ok(mcp, 'select_client', { client_id: 'jumpbox' });
  });

  after(async () => {
    await mcp?.close().catch(() => {});
    await agent?.stop();
    await server?.stop();
    await sshd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('verbatim for ordinary text; length and hash after a password prompt or when sensitive', async () => {
    const { session_id: id } = await ok(mcp, 'ssh_session_open', {
      host: '127.0.0.1',
      port: sshd.port,
      username: user,
      key_file: keyFile,
    });
    await ok(mcp, 'ssh_session_command', { session_id: id, command: 'echo ready' });
    await ok(mcp, 'ssh_session_send', {
      session_id: id,
      text: READ_PASSWORD,
    });
    await eventually(async () => {
      const r = await ok(mcp, 'ssh_session_read', { session_id: id, timeout: 0.5 });
      return r.stdout.includes('Password:') ? r : undefined;
    });
    await ok(mcp, 'ssh_session_send', { session_id: id, text: TYPED_SECRET });
    await eventually(async () => {
      const r = await ok(mcp, 'ssh_session_read', { session_id: id, timeout: 0.5 });
      return r.stdout.includes(`len=${TYPED_SECRET.length}`) ? r : undefined;
    });
    // The shell prompt is back: sends are ordinary again unless marked.
    await ok(mcp, 'ssh_session_send', { session_id: id, text: 'echo after-the-prompt' });
    await ok(mcp, 'ssh_session_send', { session_id: id, text: `: ${FLAGGED_SECRET}`, sensitive: true });
    // Refused by validation (sensitive must be a boolean): still no text in the audit row.
    await fails(
      mcp,
      'ssh_session_send',
      { session_id: id, text: MALFORMED_SECRET, sensitive: 'yes' },
      'INVALID_ARGUMENT',
    );
    await ok(mcp, 'ssh_session_close', { session_id: id });

    const audit = await ok(mcp, 'get_audit_log', { tool: 'ssh_session_send' });
    const entries = audit.entries as { outcome: string; arguments: { text: unknown } }[];
    const invalid = entries.filter((e) => e.outcome === 'INVALID_ARGUMENT');
    assert.equal(invalid.length, 1);
    assert.deepEqual(invalid[0]?.arguments.text, summarizeSecretTextLike(MALFORMED_SECRET));
    const texts = entries
      .filter((e) => e.outcome === 'OK')
      .map((e) => e.arguments.text)
      .reverse();
    assert.equal(texts.length, 4);
    assert.equal(texts[0], READ_PASSWORD);
    assert.deepEqual(texts[1], {
      length: TYPED_SECRET.length,
      sha256: summarizeSecretTextLike(TYPED_SECRET).sha256,
    });
    assert.equal(texts[2], 'echo after-the-prompt');
    assert.equal((texts[3] as { length: number }).length, FLAGGED_SECRET.length + 2);
    const text = JSON.stringify(audit.entries);
    assert.ok(
      !text.includes(TYPED_SECRET) && !text.includes(FLAGGED_SECRET) && !text.includes(MALFORMED_SECRET),
    );
    // Nor anywhere in the store's files.
    for (const f of ['reach.db', 'reach.db-wal']) {
      const path = join(server.dataDir, f);
      if (!existsSync(path)) continue;
      const bytes = readFileSync(path);
      assert.equal(bytes.includes(TYPED_SECRET), false, `${f} holds the typed secret`);
      assert.equal(bytes.includes(FLAGGED_SECRET), false, `${f} holds the flagged secret`);
      assert.equal(bytes.includes(MALFORMED_SECRET), false, `${f} holds the malformed call's secret`);
    }
  });
});
