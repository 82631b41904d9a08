import { migration as clients } from './001-clients.ts';
import { migration as webhookOutbox } from './002-webhook-outbox.ts';
import { migration as audit } from './003-audit.ts';
import { migration as exchanges } from './004-exchanges.ts';
import { migration as clientPaging } from './005-client-paging.ts';
import { migration as commandHistory } from './006-command-history.ts';
import { migration as metricsHistory } from './007-metrics-history.ts';
import { migration as rollouts } from './008-rollouts.ts';
import { migration as updateReports } from './009-update-reports.ts';

/** One schema step: `up` is SQL run once, inside a transaction, in `version` order. */
export interface Migration {
  version: number;
  name: string;
  up: string;
}

/** Every migration, in order. Add a new file `NNN-name.ts` and one line here. */
export const MIGRATIONS: readonly Migration[] = [
  clients,
  webhookOutbox,
  audit,
  exchanges,
  clientPaging,
  commandHistory,
  metricsHistory,
  rollouts,
  updateReports,
];
