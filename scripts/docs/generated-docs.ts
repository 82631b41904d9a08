import { renderServerEnvTemplate } from '../../packages/server/src/service/server-env-template.ts';
import { renderOptionsDoc } from './render-options.ts';
import { renderToolsDoc } from './render-tools.ts';

/** Every generated page, by its path from the repository root. */
export function generatedDocs(): Record<string, string> {
  return {
    'docs/tools.md': renderToolsDoc(),
    'docs/server-options.md': renderOptionsDoc(),
    'deploy/server.env.example': renderServerEnvTemplate(''),
  };
}
