import { join } from 'node:path';
import type { ServerConfig } from '../config/server-config.ts';

/** Where `reach-server release install` puts releases and HTTP serves them from. */
export function releasesDir(config: Pick<ServerConfig, 'dataDir' | 'releasesDir'>): string {
  return config.releasesDir ?? join(config.dataDir, 'releases');
}
