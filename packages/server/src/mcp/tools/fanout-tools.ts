import { AbsolutePath, LIMITS, MAX_JOB_WAIT_S, ReachError } from '@reach/protocol';
import { z } from 'zod';
import { selectClients } from '../../jobs/fanout-select.ts';
import { defineTool, type ToolContext } from '../../operations/operation-definition.ts';
import { FanoutResult, fanoutView } from './fanout-view.ts';
import { LINK_ERRORS } from './result-schemas.ts';

const Names = z.array(z.string().min(1).max(200)).min(1).max(10_000);

interface FanoutArgs {
  cmd: string;
  target: Parameters<typeof selectClients>[1];
  max_parallel: number;
  wait: number;
  timeout: number;
  cwd?: string | undefined;
}

function startFanout({ cmd, target, max_parallel, wait, timeout, cwd }: FanoutArgs, ctx: ToolContext) {
  const fanouts = ctx.services.fanouts;
  if (!fanouts) throw new ReachError('INTERNAL_ERROR', 'fan-out is not set up on this server');
  const targets = selectClients(ctx.services.clients, target);
  return fanouts.start(
    {
      cmd,
      cwd,
      timeout,
      wait,
      maxParallel: max_parallel,
      caller: ctx.caller,
      maxOutputBytes: ctx.services.maxResultBytes,
    },
    targets,
  );
}

export const fanoutTools = [
  defineTool({
    name: 'run_on_clients',
    description:
      'Run one command on every matching client (max_parallel at once). Identical answers are ' +
      'grouped (clients folded), with a recap and per-client rows; past wait s it answers with what ' +
      'it has and a job_id for job_wait/job_output/job_cancel.',
    input: z.object({
      cmd: z.string().min(1).max(LIMITS.maxCommandChars),
      target: z.object({
        client_ids: Names.optional(),
        tags: Names.optional().describe('all of these'),
        capabilities: Names.optional().describe('all of these'),
        query: z.string().max(200).optional().describe('name, purpose, hostname or tag contains'),
        online_only: z.boolean().default(true),
      }),
      max_parallel: z.number().int().min(1).max(256).default(32),
      wait: z.number().min(0).max(MAX_JOB_WAIT_S).default(25).describe('seconds'),
      timeout: z
        .number()
        .min(LIMITS.minCommandTimeoutS)
        .max(LIMITS.maxCommandTimeoutS)
        .default(LIMITS.defaultCommandTimeoutS)
        .describe('seconds, per client'),
      cwd: AbsolutePath.optional(),
    }),
    result: FanoutResult,
    errors: [...LINK_ERRORS, 'INVALID_ARGUMENT'],
    handler: async (args, ctx) => {
      const f = startFanout(args, ctx);
      const { wait } = args;
      const ticker = setInterval(() => {
        const c = f.counts();
        ctx.progress(f.rows.size - c.running, f.rows.size, f.recap());
      }, 1000);
      try {
        await f.wait(wait * 1000, ctx.signal);
      } finally {
        clearInterval(ticker);
      }
      // The caller gave up on the call: what it started stops with it (as run_command's does).
      if (ctx.signal.aborted) await f.cancel();
      return fanoutView(f);
    },
    // As a task the fan-out is the same; each client's command still becomes a job past `wait`.
    startTask: async (args, ctx) => startFanout(args, ctx).id,
  }),
];
