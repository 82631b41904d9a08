/**
 * The fault campaign of issue #20: a real reach-server process and a real client process on
 * loopback; for each planned fault one mutation is started through the MCP SDK client (with an
 * idempotency_key), the victim (client or server) is SIGKILLed at the fault's seeded moment and
 * started again, and what is left is checked (see fault-record.ts). Both ports are picked once,
 * so a restarted server is found again by the running client.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { mkdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { setupClient, startClientProcess } from '../../packages/client/test/helpers/client-process.ts';
import { isDead, waitFor } from '../../packages/client/test/helpers/rpc-context.ts';
import { type ServerProcess, startServerProcess } from '../../packages/client/test/helpers/server-process.ts';
import { freePort } from '../openssh.ts';
import { integrityCheck, sha256File, strayFiles } from './fault-checks.ts';
import { API_KEY, callTool, connect } from './fault-mcp.ts';
import {
  type CampaignDirs,
  DEFAULT_SIZES,
  type OpSizes,
  type PreparedOp,
  prepareOp,
  prepareSources,
} from './fault-ops.ts';
import { FAULT_OPS, type FaultOp, type FaultPlan } from './fault-plan.ts';
import { describe, emptyChecks, type FaultRecord, judge, KILL_BOUND_MS } from './fault-record.ts';

/** How long a restarted victim may take to be back (a loaded 2-core machine: a few seconds). */
const BACK_WITHIN_MS = 30_000;

export interface CampaignOptions {
  /** An empty directory the campaign owns (server data, client home, work files). */
  root: string;
  sizes?: Partial<OpSizes>;
  /** run_command: the kill falls within this many ms of its pids being written (default 4000). */
  commandWindowMs?: number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Records of run_command faults whose marker and final status are looked at once its sleep is over. */
interface Deferred {
  record: FaultRecord;
  prepared: PreparedOp;
  settledAt: number;
  pids: number[];
}

export class FaultCampaign {
  readonly records: FaultRecord[] = [];
  /** Unfaulted duration of each file operation, ms, measured at start; the kill moments scale by it. */
  readonly calibratedMs: Partial<Record<FaultOp, number>> = {};
  readonly #opts: CampaignOptions;
  readonly #sizes: OpSizes;
  readonly #deferred: Deferred[] = [];
  readonly #strays: number[] = [];
  #dirs!: CampaignDirs;
  #sources!: Awaited<ReturnType<typeof prepareSources>>;
  #ports = { ssh: 0, http: 0 };
  #serverData = '';
  #env: Record<string, string | undefined> = {};
  #uuid = '';
  #server: ServerProcess | undefined;
  #client: ChildProcess | undefined;
  #clientStderr: () => string = () => '';
  #mcp: Client | undefined;

  constructor(opts: CampaignOptions) {
    this.#opts = opts;
    this.#sizes = { ...DEFAULT_SIZES, ...opts.sizes };
  }

  /** Sets up both ends and the shared sources, starts them, and calibrates each file operation. */
  async start(): Promise<void> {
    const root = await realpath(this.#opts.root);
    this.#serverData = join(root, 'server');
    this.#dirs = {
      work: join(root, 'work'),
      transfers: join(this.#serverData, 'transfers'),
      pids: join(root, 'pids'),
    };
    await mkdir(this.#dirs.work, { recursive: true });
    this.#ports = { ssh: await freePort(), http: await freePort() };
    this.#sources = await prepareSources(this.#dirs, this.#sizes);
    this.#env = {
      REACH_HOME: join(root, 'client'),
      PATH: process.env.PATH,
      REACH_SERVER_HOST: '127.0.0.1',
      REACH_SERVER_PORT: String(this.#ports.ssh),
      // Backoff from 0.2 s capped at 1 s: a client reconnects within about a second of the restart.
      REACH_RECONNECT_DELAY: '0.2',
      REACH_MAX_RECONNECT_DELAY: '1',
      REACH_LOG_LEVEL: 'warn',
    };
    this.#uuid = await setupClient(this.#env, this.#serverData);
    this.#server = await startServerProcess(this.#serverData, API_KEY, this.#ports);
    this.#mcp = await connect(this.#ports.http);
    await this.#startClient();
    for (const op of FAULT_OPS) {
      if (op === 'run_command') continue;
      const prepared = await prepareOp(op, `cal-${op}`, this.#uuid, this.#dirs, this.#sources, this.#sizes);
      const t0 = performance.now();
      const r = await callTool(this.#mcp, op, prepared.args);
      if (!r.ok) throw new Error(`calibration ${op} failed: ${JSON.stringify(r.body)} ${r.outcome}`);
      this.calibratedMs[op] = performance.now() - t0;
    }
  }

  /** Runs one fault to its end: start, kill, restart, checks. */
  async run(plan: FaultPlan): Promise<FaultRecord> {
    const name = `f${String(plan.index).padStart(3, '0')}`;
    const prepared = await prepareOp(plan.op, name, this.#uuid, this.#dirs, this.#sources, this.#sizes);
    const record: FaultRecord = {
      index: plan.index,
      op: plan.op,
      victim: plan.victim,
      at: plan.at,
      atRename: plan.moment === 'rename',
      killAfterMs: 0,
      inFlight: false,
      callEndMs: 0,
      callOutcome: '',
      restartMs: 0,
      reconnectMs: 0,
      destination: 'other',
      strays: [],
      status: '',
      statusReason: '',
      integrity: '',
      checks: emptyChecks(),
      failures: [],
    };
    const mcp = this.#mustMcp();
    // inotify on the destination's directory: its name appears (is renamed into place) only once.
    const renamed = plan.moment === 'rename' ? watchRename(prepared.dest) : undefined;
    const started = performance.now();
    let endedAt = 0;
    const call = callTool(mcp, plan.op, prepared.args).finally(() => {
      endedAt = performance.now();
    });
    let pids: number[] = [];
    // Up to twice the unfaulted duration: a call right after a restart runs slower (a cold process),
    // and a kill may land after the rename, before the reply, or after the call ended.
    let killAt = started + plan.at * 2 * (this.calibratedMs[plan.op] ?? 0);
    if (prepared.pidFile) {
      const pidFile = prepared.pidFile;
      const written = async () => (await readFile(pidFile, 'utf8').catch(() => '')).endsWith('\n');
      if (!(await waitFor(written, 10_000))) throw new Error(`${name}: run_command never started`);
      pids = (await readFile(pidFile, 'utf8')).trim().split(' ').map(Number);
      this.#strays.push(...pids);
      killAt = performance.now() + plan.at * (this.#opts.commandWindowMs ?? 4000);
    }
    if (renamed) await Promise.race([renamed.seen, call]);
    else await sleep(killAt - performance.now());
    renamed?.close();
    record.inFlight = endedAt === 0;
    const killedAt = performance.now();
    record.killAfterMs = killedAt - started;
    const dbAfterKill = plan.victim === 'server' ? await this.#killServer() : undefined;
    if (plan.victim === 'client') await this.#killClient();
    const answer = await call;
    record.callEndMs = endedAt - killedAt;
    record.callOutcome = answer.outcome;
    if (record.inFlight) {
      judge(
        record,
        'call_end',
        record.callEndMs <= KILL_BOUND_MS,
        `ended ${record.callEndMs.toFixed(0)} ms after the kill (${answer.outcome})`,
      );
    }
    if (plan.op === 'run_command' && plan.victim === 'client') {
      const gone = await waitFor(
        async () => (await Promise.all(pids.map(isDead))).every(Boolean),
        KILL_BOUND_MS - (performance.now() - killedAt),
      );
      record.processesGoneMs = gone ? performance.now() - killedAt : -1;
      judge(
        record,
        'processes',
        gone,
        `pids ${pids.join(' ')} still running ${KILL_BOUND_MS} ms after the kill`,
      );
    }

    const spawned = performance.now();
    if (plan.victim === 'server') {
      this.#server = await startServerProcess(this.#serverData, API_KEY, this.#ports);
      record.restartMs = performance.now() - spawned;
      await this.#mcp?.close().catch(() => undefined);
      this.#mcp = await connect(this.#ports.http);
      if (!(await waitFor(() => this.#online(), BACK_WITHIN_MS))) {
        throw new Error(
          `${name}: the client did not come back to the restarted server\n${this.#clientStderr()}`,
        );
      }
      record.reconnectMs = performance.now() - spawned;
    } else {
      await this.#startClient();
      record.restartMs = record.reconnectMs = performance.now() - spawned;
    }

    const sha = await sha256File(prepared.dest);
    record.destination = sha === prepared.newSha ? 'new' : sha === prepared.oldSha ? 'old' : 'other';
    judge(
      record,
      'destination',
      record.destination !== 'other' && (answer.ok ? record.destination === 'new' : true),
      `${record.destination} (sha256 ${sha.slice(0, 12)}) after a call that said ${answer.outcome}`,
    );
    for (const { dir, allowed } of prepared.dirs)
      record.strays.push(...(await strayFiles(dir, allowed)).map((n) => join(dir, n)));
    judge(record, 'litter', record.strays.length === 0, record.strays.join(', '));

    const running = pids.length > 0 && !(await Promise.all(pids.map(isDead))).every(Boolean);
    await this.#checkStatus(record, prepared, running, false);
    const integrity = dbAfterKill ?? (await integrityCheck(join(this.#serverData, 'reach.db'), true));
    record.integrity = integrity;
    judge(record, 'integrity', integrity === 'ok', integrity);
    if (plan.op === 'run_command') {
      this.#deferred.push({
        record,
        prepared,
        pids,
        settledAt: killedAt + this.#sizes.commandSleepS * 1000 + 1000,
      });
    }
    this.records.push(record);
    this.#opts.log?.(describe(record));
    return record;
  }

  /**
   * Waits until every faulted command's sleep would be over, then checks what it left: a client
   * kill's marker never appears; a server kill's command ran on, and its status matches its marker.
   */
  async finish(): Promise<void> {
    for (const d of this.#deferred) {
      await sleep(d.settledAt - performance.now());
      const marker = existsSync(d.prepared.dest);
      if (d.record.victim === 'client') {
        judge(d.record, 'marker', !marker, `${d.prepared.dest} appeared after the client was killed`);
      }
      d.record.destination = marker ? 'new' : 'old';
      const running = !(await Promise.all(d.pids.map(isDead))).every(Boolean);
      await this.#checkStatus(d.record, d.prepared, running, true);
      this.#opts.log?.(`settled: ${describe(d.record)}`);
    }
    this.#deferred.length = 0;
  }

  async close(): Promise<void> {
    await this.#mcp?.close().catch(() => undefined);
    await this.#killClient();
    await this.#server?.stop();
    for (const pid of this.#strays) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }

  /** operation_status must say applied iff the destination is new (in_progress only while it runs). */
  async #checkStatus(record: FaultRecord, prepared: PreparedOp, running: boolean, final: boolean) {
    const id = String(prepared.args.idempotency_key);
    const s = await callTool(this.#mustMcp(), 'operation_status', {
      client_id: this.#uuid,
      operation_id: id,
    });
    const status = String(s.body.status ?? s.outcome);
    const reason = String(s.body.reason ?? '');
    record.status = final ? `${record.status} → ${status}` : status;
    record.statusReason = reason;
    const isNew = (await sha256File(prepared.dest)) === prepared.newSha;
    const ok = isNew
      ? status === 'applied'
      : status === 'in_progress'
        ? running && !final
        : (status === 'not_applied' || status === 'unknown') && reason.length > 0;
    judge(
      record,
      'operation_status',
      ok,
      `${status} (${reason}) with the destination ${isNew ? 'new' : 'not new'}${running ? ', command running' : ''}`,
    );
  }

  #mustMcp(): Client {
    if (!this.#mcp) throw new Error('campaign not started');
    return this.#mcp;
  }

  async #online(): Promise<boolean> {
    const r = await callTool(this.#mustMcp(), 'list_clients', {});
    const list = r.body.clients as Array<{ uuid: string; online: boolean }> | undefined;
    return list?.some((c) => c.uuid === this.#uuid && c.online) === true;
  }

  async #startClient(): Promise<void> {
    // The server must have seen the killed client go first, or "online" would be its old link.
    if (!(await waitFor(async () => !(await this.#online()), BACK_WITHIN_MS)))
      throw new Error('the killed client stayed online');
    const c = startClientProcess(this.#env);
    this.#client = c.child;
    this.#clientStderr = c.stderr;
    if (!(await waitFor(() => this.#online(), BACK_WITHIN_MS)))
      throw new Error(`the client did not connect\n${c.stderr()}`);
  }

  async #killClient(): Promise<void> {
    const c = this.#client;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  /** SIGKILLs the server and checks the database it left, before anything opens it again. */
  async #killServer(): Promise<string> {
    await this.#server?.stop();
    return integrityCheck(join(this.#serverData, 'reach.db'), false);
  }
}

/** Resolves `seen` when `dest` is renamed into place (a `rename` event naming it). */
function watchRename(dest: string): { seen: Promise<void>; close(): void } {
  let resolve: () => void = () => undefined;
  const seen = new Promise<void>((r) => {
    resolve = r;
  });
  const watcher = watch(dirname(dest), (event, name) => {
    if (event === 'rename' && name === basename(dest)) resolve();
  });
  return { seen, close: () => watcher.close() };
}
