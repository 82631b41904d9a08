import type { ToolDefinition } from '../../operations/operation-definition.ts';
import { auditTools } from './audit-tools.ts';
import { clientTools } from './client-tools.ts';
import { exchangeTools } from './exchange-tools.ts';
import { fanoutTools } from './fanout-tools.ts';
import { jobTools } from './job-tools.ts';
import { operationTools } from './operation-tools.ts';
import { remoteTools } from './remote-tools.ts';
import { rotationTools } from './rotation-tools.ts';
import { sshSessionTools } from './ssh-session-tools.ts';
import { transferTools } from './transfer-tools.ts';
import { updateTools } from './update-tools.ts';

/** Every MCP tool Reach serves, in listing order. */
export const allTools: readonly ToolDefinition[] = [
  ...clientTools,
  ...remoteTools,
  ...jobTools,
  ...fanoutTools,
  ...sshSessionTools,
  ...auditTools,
  ...transferTools,
  ...exchangeTools,
  ...rotationTools,
  ...operationTools,
  ...updateTools,
];
