import { parseArgs } from 'node:util';
import { ReachError } from '@reach/protocol';
import { loadServerConfig } from '../config/server-config.ts';
import { findRunningDaemon } from '../daemon/daemon-file.ts';
import { callDaemonTool } from '../mcp/daemon-tool-call.ts';
import { RolloutView } from './rollout-types.ts';

export interface UpdateCommandIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: { write(text: string): unknown };
  /** Between polls of `--wait` (tests pass a short one). */
  pollMs?: number;
}

export const UPDATE_USAGE = [
  'reach-server update (--version V | --channel stable|beta) (--all | --client ID … | --tag T …)',
  '                    [--batch-size N] [--max-failures N] [--force] [--wait] [--json] [--data-dir D]',
  'reach-server update status [ROLLOUT_ID] [--json] [--data-dir D]',
] as const;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'string' },
  channel: { type: 'string' },
  all: { type: 'boolean' },
  client: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  'batch-size': { type: 'string' },
  'max-failures': { type: 'string' },
  force: { type: 'boolean' },
  wait: { type: 'boolean' },
  json: { type: 'boolean' },
  'data-dir': { type: 'string' },
  'ssh-port': { type: 'string' },
} as const;

/**
 * `reach-server update …`: update_clients / update_status of the daemon running on this data dir,
 * through its MCP endpoint (so the rollout is the same audited tool call an assistant makes).
 */
export async function updateCommand(argv: string[], io: UpdateCommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) {
    io.stdout.write(`usage:\n${UPDATE_USAGE.map((u) => `  ${u}\n`).join('')}`);
    return 0;
  }
  const [sub, ...rest] = parsed.positionals;
  const flags = (['data-dir', 'ssh-port'] as const).flatMap((f) =>
    v[f] === undefined ? [] : [`--${f}`, v[f]],
  );
  const { config } = loadServerConfig(flags, io.env);
  const daemon = await findRunningDaemon(config.dataDir, config.sshPort);
  if (daemon === undefined) {
    throw new ReachError('CONNECTION_ERROR', `no reach-server daemon is running on ${config.dataDir}`, {
      recoveryHint: 'start it with --transport http (npm start), then run this again',
    });
  }
  const call = async (tool: string, args: object) =>
    RolloutView.array().parse(
      tool === 'update_status'
        ? ((await callDaemonTool(daemon, tool, args)) as { rollouts: unknown }).rollouts
        : [await callDaemonTool(daemon, tool, args)],
    );
  const print = (rollouts: RolloutView[]) =>
    io.stdout.write(
      v.json === true ? `${JSON.stringify(rollouts, null, 2)}\n` : rollouts.map(format).join('\n'),
    );

  if (sub === 'status') {
    if (rest.length > 1) throw usageError();
    print(await call('update_status', rest[0] === undefined ? {} : { rollout_id: rest[0] }));
    return 0;
  }
  if (sub !== undefined) throw usageError(`unknown update subcommand ${sub}`);
  const target = {
    ...(v.all === true ? { all: true } : {}),
    ...(v.client ? { client_ids: v.client } : {}),
    ...(v.tag ? { tags: v.tag } : {}),
  };
  if (Object.keys(target).length === 0) throw usageError('name --all, --client or --tag');
  const int = (name: 'batch-size' | 'max-failures'): number | undefined => {
    const text = v[name];
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text) || Number(text) < 1) throw usageError(`--${name} is a whole number ≥ 1`);
    return Number(text);
  };
  const batchSize = int('batch-size');
  const maxFailures = int('max-failures');
  let [started] = await call('update_clients', {
    ...(v.version === undefined ? {} : { version: v.version }),
    ...(v.channel === undefined ? {} : { channel: v.channel }),
    target,
    ...(batchSize === undefined ? {} : { batch_size: batchSize }),
    ...(maxFailures === undefined ? {} : { max_failures: maxFailures }),
    ...(v.force === true ? { force: true } : {}),
  });
  while (v.wait === true && started?.state === 'running') {
    await new Promise((r) => setTimeout(r, io.pollMs ?? 2000));
    [started] = await call('update_status', { rollout_id: started.rollout_id });
  }
  if (started) print([started]);
  return started?.state === 'halted' ? 1 : 0;
}

/** A rollout as lines: its state, then one row per client. */
function format(r: RolloutView): string {
  const head =
    `${r.rollout_id}  ${r.version}  ${r.state}` +
    `${r.halted_reason ? ` (${r.halted_reason})` : ''}  batches ${r.batches_started}, failures ${r.failures}/${r.max_failures}\n`;
  const rows = r.clients.map((c) =>
    `  ${c.display_name.padEnd(24)} ${(c.from ?? '?').padEnd(10)} ${c.state.padEnd(12)} ${c.reason ?? ''}`.trimEnd(),
  );
  return `${head}${rows.join('\n')}\n`;
}

function usageError(first?: string): ReachError {
  const lines = [...(first ? [first] : []), 'usage:', ...UPDATE_USAGE.map((u) => `  ${u}`)];
  return new ReachError('INVALID_ARGUMENT', lines.join('\n'));
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}
