import type { ClientService } from '../clients/client-service.ts';
import type { RateLimiter } from '../rate-limit/rate-limiter.ts';

/** The services MCP tools call: the same ones the HTTP API calls. */
export interface ToolServices {
  clients: ClientService;
  rateLimiter: RateLimiter;
}
