/**
 * deploy/terraform: every .tf file parses (HCL, offline: no terraform binary can be installed here),
 * every variable and output is documented, the example passes only variables the module has; and
 * the cloud-init user data the module renders boots the server: its bootstrap script, run in a
 * staging root, downloads the executable over HTTP (sha256 checked), installs the unit, writes the
 * env file and the host key, and the server started from that unit answers with that host key.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';
import { freePort } from '../../../test-support/openssh.ts';
import { stopChild } from '../../../test-support/stop-child.ts';
import { parseEnvFile } from '../src/service/env-file.ts';

const REPO = join(import.meta.dirname, '../../..');
const TF = join(REPO, 'deploy/terraform');
const MODULE = join(TF, 'modules/reach-server');

type Hcl = Record<string, Record<string, Array<Record<string, unknown>>>>;

async function parseDir(dir: string): Promise<Hcl> {
  const merged: Hcl = {};
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.tf'))) {
    const doc = (await parse(f, readFileSync(join(dir, f), 'utf8'))) as Hcl;
    for (const [kind, blocks] of Object.entries(doc)) merged[kind] = { ...merged[kind], ...blocks };
  }
  return merged;
}

/**
 * Terraform's templatefile for what these templates use: `${name}`, `${jsonencode(name)}` and the
 * `$${` escape. Anything else left over fails the test, so a template cannot outgrow this.
 */
function templatefile(text: string, vars: Record<string, string>): string {
  assert.doesNotMatch(text, /%\{/, 'template directives are not supported here');
  for (const [m] of text.matchAll(/\$?\$\{[^}]*\}/g)) {
    assert.match(m, /^(\$\$\{.*|\$\{(jsonencode\()?\w+\)?\})$/, `unsupported interpolation ${m}`);
  }
  return text.replace(
    /(\$?)\$\{(jsonencode\()?(\w+)\)?\}/g,
    (all, escaped: string, json: string, name: string) => {
      if (escaped) return all.slice(1);
      const v = vars[name];
      assert.ok(v !== undefined, `template variable ${name} not given`);
      return json ? JSON.stringify(v) : v;
    },
  );
}

describe('deploy/terraform', () => {
  const children: ChildProcess[] = [];
  const root = mkdtempSync(join(tmpdir(), 'reach-tf-'));
  after(async () => {
    for (const c of children) await stopChild(c);
    await rm(root, { recursive: true, force: true });
  });

  test('module and example parse; variables and outputs are documented; the example fits the module', async () => {
    const mod = await parseDir(MODULE);
    const example = await parseDir(join(TF, 'examples/aws'));
    for (const [name, doc] of [
      ['module', mod],
      ['example', example],
    ] as const) {
      for (const [v, [block]] of Object.entries(doc.variable ?? {})) {
        assert.ok(
          typeof block?.description === 'string' && block.description.length > 10,
          `${name} variable ${v}`,
        );
        assert.ok(block?.type, `${name} variable ${v} has a type`);
      }
      for (const [o, [block]] of Object.entries(doc.output ?? {})) {
        assert.ok(typeof block?.description === 'string', `${name} output ${o} is documented`);
      }
    }
    assert.deepEqual(Object.keys(mod.output ?? {}).sort(), [
      'api_key',
      'host_key_fingerprint',
      'mcp_path',
      'user_data',
    ]);
    const [call] = example.module?.reach ?? [];
    const given = Object.keys(call ?? {}).filter((k) => k !== 'source');
    const known = Object.keys(mod.variable ?? {});
    for (const k of given)
      assert.ok(known.includes(k), `the example passes ${k}, which the module does not declare`);
    for (const [v, [block]] of Object.entries(mod.variable ?? {})) {
      if (!('default' in (block ?? {}))) assert.ok(given.includes(v), `the example must pass ${v}`);
    }
    assert.ok(
      example.output?.host_key_fingerprint && example.output.mcp_url,
      'the example outputs the fingerprint and MCP URL',
    );
    // A broken file is reported with its line (the parser is a real HCL parser, not a no-op).
    await assert.rejects(parse('bad.tf', 'variable "x" {\n  type = \n'));
  });

  test('the rendered cloud-init boots the server in a staging root with the host key it was given', async () => {
    chmodSync(root, 0o755);
    // The "executable" behind the download URL: the repository's server entry point in one file.
    const exe = `#!/bin/sh\nexec "${process.execPath}" "${join(REPO, 'packages/server/src/bin.ts')}" "$@"\n`;
    const downloads = createServer((req, res) => {
      if (req.url !== '/latest/reach-server-linux-x86_64') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(exe);
    });
    await new Promise<void>((r) => downloads.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(downloads.address() as AddressInfo).port}/latest/reach-server-linux-x86_64`;
    const keyDir = mkdtempSync(join(tmpdir(), 'reach-tf-key-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'tf', '-f', join(keyDir, 'k')]);
    const fingerprint = execFileSync('ssh-keygen', ['-lf', join(keyDir, 'k.pub')], {
      encoding: 'utf8',
    }).split(' ')[1];
    const [sshPort, httpPort] = [await freePort(), await freePort()];
    // What main.tf's locals compute.
    const envFile = `REACH_API_KEY=${'ab'.repeat(32)}\nREACH_HOST=127.0.0.1\nREACH_PORT=${httpPort}\nREACH_SSH_HOST=127.0.0.1\nREACH_SSH_PORT=${sshPort}\n`;
    const render = (sha: string) =>
      templatefile(readFileSync(join(MODULE, 'cloud-init.yaml.tftpl'), 'utf8'), {
        bootstrap: templatefile(readFileSync(join(MODULE, 'bootstrap.sh.tftpl'), 'utf8'), {
          root,
          server_download_url: url,
          server_sha256: sha,
          env_file_b64: Buffer.from(envFile).toString('base64'),
          host_key_b64: Buffer.from(readFileSync(join(keyDir, 'k'))).toString('base64'),
        }),
      });
    /** cloud-init's write_files then runcmd, with every path under the staging root. */
    const boot = async (userData: string) => {
      assert.ok(userData.startsWith('#cloud-config\n'));
      const doc = parseYaml(userData) as {
        write_files: Array<{ path: string; permissions: string; content: string }>;
        runcmd: string[][];
      };
      for (const f of doc.write_files) {
        await mkdir(dirname(join(root, f.path)), { recursive: true });
        await writeFile(join(root, f.path), f.content, { mode: Number.parseInt(f.permissions, 8) });
      }
      const [cmd] = doc.runcmd;
      assert.deepEqual(cmd, ['/bin/bash', '/usr/local/lib/reach/bootstrap.sh']);
      // Not spawnSync: the download server answering curl lives in this very process.
      return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn('/bin/bash', [join(root, cmd?.[1] ?? '')], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      });
    };

    const refused = await boot(render('0'.repeat(64)));
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /does not match its sha256/);
    assert.throws(
      () => statSync(join(root, 'usr/local/bin/reach-server')),
      'nothing installed on a bad download',
    );

    const sha = createHash('sha256').update(exe).digest('hex');
    const ok = await boot(render(sha));
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    downloads.close();
    assert.equal(statSync(join(root, 'etc/reach/server.env')).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'var/lib/reach-server/ssh_host_ed25519_key')).mode & 0o777, 0o600);
    const unit = readFileSync(join(root, 'etc/systemd/system/reach-mcp.service'), 'utf8');
    const exec = (/^ExecStart=(.*)$/m.exec(unit)?.[1] ?? '').split(' ');
    const args = exec.slice(1).map((w, i, a) => (a[i - 1] === '--data-dir' ? join(root, w) : w));
    const server = spawn(join(root, exec[0] ?? ''), args, {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...parseEnvFile(readFileSync(join(root, 'etc/reach/server.env'), 'utf8')),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(server);
    let stderr = '';
    const printed = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(stderr)), 20_000);
      server.stderr?.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /host key (SHA256:\S+)/.exec(stderr);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    assert.equal(
      printed,
      fingerprint,
      'the server uses the host key Terraform made (its output fingerprint)',
    );
    const health = await fetch(`http://127.0.0.1:${httpPort}/health`);
    assert.equal(health.status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${httpPort}/mcp`, { method: 'POST' })).status, 401);
    await rm(keyDir, { recursive: true, force: true });
  });
});
