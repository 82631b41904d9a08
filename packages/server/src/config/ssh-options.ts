import { z } from 'zod';
import { parseMaxStartups } from '../ssh/admission.ts';
import { type OptionSpec, Port } from './option-spec.ts';

/** The rows of the server's option table for the embedded SSH server and its admission control. */
export const SSH_OPTIONS = {
  sshHost: {
    flag: 'ssh-host',
    env: 'SSH_HOST',
    arg: 'H',
    type: z.string().min(1),
    default: '0.0.0.0',
    help: 'embedded SSH server address',
    group: 'ssh',
  },
  sshPort: {
    flag: 'ssh-port',
    env: 'SSH_PORT',
    arg: 'N',
    type: Port,
    default: '2222',
    help: 'embedded SSH server port (443 gets through most firewalls; 0 picks a free one)',
    group: 'ssh',
  },
  maxUnauthenticated: {
    flag: 'max-unauthenticated',
    env: 'MAX_UNAUTHENTICATED',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100_000),
    default: '128',
    help: 'SSH connections handshaking or authenticating at once; more are dropped at accept',
    group: 'ssh',
  },
  maxStartups: {
    flag: 'max-startups',
    env: 'MAX_STARTUPS',
    arg: 'START:RATE:FULL',
    type: z
      .string()
      .optional()
      .refine((v) => v === undefined || parseMaxStartups(v) !== undefined, {
        message: 'expected start:rate:full with 1 <= start <= full and rate <= 100, e.g. 64:30:128',
      }),
    help: 'random early drop (OpenSSH MaxStartups): from START unauthenticated connections drop RATE%, rising to 100% at FULL; overrides --max-unauthenticated (unset: half of it, 30%)',
    group: 'ssh',
  },
  maxUnauthenticatedPerSource: {
    flag: 'max-unauthenticated-per-source',
    env: 'MAX_UNAUTHENTICATED_PER_SOURCE',
    arg: 'N',
    type: z.coerce.number().int().min(1).max(100_000),
    default: '16',
    help: 'unauthenticated connections one address (IPv6: one /64) may hold; raise it for many clients behind one NAT',
    group: 'ssh',
  },
  bannerTimeoutS: {
    flag: 'banner-timeout',
    env: 'BANNER_TIMEOUT',
    arg: 'S',
    type: z.coerce.number().positive().max(600),
    default: '10',
    help: 'seconds a new connection may stay silent before its SSH identification arrives',
    group: 'ssh',
  },
  authTimeoutS: {
    flag: 'auth-timeout',
    env: 'AUTH_TIMEOUT',
    arg: 'S',
    type: z.coerce.number().positive().max(600),
    default: '30',
    help: 'seconds a connection may take to authenticate and register',
    group: 'ssh',
  },
} as const satisfies Record<string, OptionSpec>;
