/**
 * `npm run bench:mcp`: latency of `tools/call run_command {cmd:"true"}` over Streamable HTTP from a
 * connected MCP SDK client (server in-process with its real HTTP transport, a real client process
 * over loopback SSH), beside the OpenSSH multiplexed-exec baseline of bench:rtt (ssh -S through an
 * ssh -R reverse tunnel to a loopback sshd). Rounds alternate; figures are medians (PITFALLS 13).
 *
 * Flags: --rounds N (3), --seq N (1000), --ssh-seq N (200), --paced N (200), --gap-ms N (20),
 * --client-node-options '…' (the client's node flags; default the service unit's
 * `--max-semi-space-size=1`, '' for node's defaults: see reach-under-test.ts).
 * "Paced" calls wait --gap-ms before each, as an assistant's do: the client's shell pool refills in
 * such a pause (bench:rtt measures it against plain spawns); back to back it is empty.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startTransports } from '../packages/server/src/transports.ts';
import { formatTable, type LatencyStats, medianLatency, ms, sequential } from './lib/measure.ts';
import { startOpenSshBaseline } from './lib/openssh-baseline.ts';
import { CLIENT_NODE_OPTIONS, clientNodeFlagsOf, startReach } from './lib/reach-under-test.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seq: { type: 'string', default: '1000' },
    'ssh-seq': { type: 'string', default: '200' },
    paced: { type: 'string', default: '200' },
    'gap-ms': { type: 'string', default: '20' },
    'client-node-options': CLIENT_NODE_OPTIONS,
  },
});
const rounds = Number(values.rounds);
const seqN = Number(values.seq);
const sshSeqN = Number(values['ssh-seq']);
const pacedN = Number(values.paced);
const gapMs = Number(values['gap-ms']);
const API_KEY = 'bench-mcp-key';
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

log('starting Reach (HTTP transport in-process, client process) and the OpenSSH baseline…');
const { flags: clientNodeFlags, described: clientRun } = clientNodeFlagsOf(values['client-node-options']);
const reach = await startReach({
  clientNodeFlags,
  serverArgs: ['--transport', 'http', '--port', '0', '--api-key', API_KEY],
  startTransports,
});
const ssh = await startOpenSshBaseline().catch(async (err: unknown) => {
  await reach.stop();
  throw err;
});
const mcp = new Client({ name: 'bench-mcp', version: '1.0.0' });

try {
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${reach.server.httpPort}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${API_KEY}` } },
    }),
  );
  const mcpCall = async (): Promise<void> => {
    const r = await mcp.callTool({ name: 'run_command', arguments: { cmd: 'true', client_id: reach.uuid } });
    if (r.isError) throw new Error(`run_command failed: ${JSON.stringify(r.content)}`);
  };
  // The same call where the command cannot outlive the wait (timeout ≤ wait): plain run_command
  // with pipes, not job_run with files; the difference is what jobs cost a quick command.
  const mcpNoJobCall = async (): Promise<void> => {
    const r = await mcp.callTool({
      name: 'run_command',
      arguments: { cmd: 'true', client_id: reach.uuid, timeout: 25, wait: 25 },
    });
    if (r.isError) throw new Error(`run_command failed: ${JSON.stringify(r.content)}`);
  };
  // The MCP layer alone: a tool that starts no process on the client.
  const listCall = async (): Promise<void> => {
    const r = await mcp.callTool({ name: 'list_clients', arguments: {} });
    if (r.isError) throw new Error(`list_clients failed: ${JSON.stringify(r.content)}`);
  };
  const directCall = async (): Promise<void> => {
    await reach.server.services.clients.call(reach.uuid, 'run_command', { cmd: 'true' });
  };
  const sshCall = async (): Promise<void> => {
    const r = await ssh.exec('true');
    if (r.code !== 0) throw new Error(`ssh exec true exited ${r.code}: ${r.stderr}`);
  };

  log('warming up…');
  await sequential(100, mcpCall);
  await sequential(10, sshCall);
  const listSeq: LatencyStats[] = [];
  const mcpSeq: LatencyStats[] = [];
  const noJobSeq: LatencyStats[] = [];
  const directSeq: LatencyStats[] = [];
  const sshSeq: LatencyStats[] = [];
  const pacedSeq: LatencyStats[] = [];
  for (let round = 1; round <= rounds; round++) {
    mcpSeq.push(await sequential(seqN, mcpCall));
    pacedSeq.push(await sequential(pacedN, mcpCall, gapMs));
    noJobSeq.push(await sequential(seqN, mcpNoJobCall));
    listSeq.push(await sequential(seqN, listCall));
    directSeq.push(await sequential(seqN, directCall));
    sshSeq.push(await sequential(sshSeqN, sshCall));
    log(
      `round ${round}/${rounds}: MCP p50 ${ms(mcpSeq.at(-1)!.p50)} ms, agent RPC p50 ${ms(directSeq.at(-1)!.p50)} ms, ` +
        `OpenSSH p50 ${ms(sshSeq.at(-1)!.p50)} ms`,
    );
  }
  const m = medianLatency(mcpSeq);
  const d = medianLatency(directSeq);
  const l = medianLatency(listSeq);
  const nj = medianLatency(noJobSeq);
  const s = medianLatency(sshSeq);
  const pc = medianLatency(pacedSeq);
  console.log(
    `\ntools/call run_command "true" over Streamable HTTP — median of ${rounds} rounds — ${os.cpus().length} CPUs, Node ${process.version}\n`,
  );
  console.log(
    formatTable([
      ['', 'MCP (Streamable HTTP)', 'agent RPC only', 'OpenSSH exec', 'OpenSSH / MCP'],
      ['calls per round', String(m.n), String(d.n), String(s.n), ''],
      ['p50 (ms)', ms(m.p50), ms(d.p50), ms(s.p50), `${(s.p50 / m.p50).toFixed(1)}×`],
      ['p99 (ms)', ms(m.p99), ms(d.p99), ms(s.p99), `${(s.p99 / m.p99).toFixed(1)}×`],
      ['mean (ms)', ms(m.mean), ms(d.mean), ms(s.mean), `${(s.mean / m.mean).toFixed(1)}×`],
    ]),
  );
  console.log(
    `\nMCP layer alone (tools/call list_clients, no process started): p50 ${ms(l.p50)} ms, p99 ${ms(l.p99)} ms`,
  );
  console.log(
    `run_command with timeout ≤ wait (plain pipes, no job files): p50 ${ms(nj.p50)} ms, p99 ${ms(nj.p99)} ms ` +
      `(the default call, which may become a job: p50 ${ms(m.p50)} ms)`,
  );
  console.log(
    `the default call paced (${gapMs} ms before each, ${pc.n} calls): p50 ${ms(pc.p50)} ms, p99 ${ms(pc.p99)} ms`,
  );
  console.log(`client: ${clientRun}`);
  console.log(
    `target MCP p50 ≤ 5 ms: ${m.p50 <= 5 ? 'met' : 'NOT met'} (back to back ${ms(m.p50)} ms, paced ${ms(pc.p50)} ms)`,
  );
} finally {
  await mcp.close().catch(() => {});
  await ssh.stop();
  await reach.stop();
}
