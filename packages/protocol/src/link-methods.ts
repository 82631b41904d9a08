import type { z } from 'zod';
import { AGENT_METHODS } from './agent-methods.ts';
import { EXCHANGE_METHODS } from './exchange-methods.ts';
import { JOB_METHODS } from './job-methods.ts';
import { SSH_SESSION_METHODS } from './ssh-session-methods.ts';
import { UPDATE_METHODS } from './update-methods.ts';

/** Every method the server may call on a client's agent: the core, SSH-session, bucket-exchange, job and update ones. */
export const LINK_METHODS = {
  ...AGENT_METHODS,
  ...SSH_SESSION_METHODS,
  ...EXCHANGE_METHODS,
  ...JOB_METHODS,
  ...UPDATE_METHODS,
} as const;
export type LinkMethod = keyof typeof LINK_METHODS;
export type LinkParams<M extends LinkMethod> = z.input<(typeof LINK_METHODS)[M]['params']>;
export type LinkResult<M extends LinkMethod> = z.infer<(typeof LINK_METHODS)[M]['result']>;
