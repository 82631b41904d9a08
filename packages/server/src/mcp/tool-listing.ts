import { z } from 'zod';
import type { ToolDefinition } from '../operations/operation-definition.ts';

export interface ListedTool {
  name: string;
  description: string;
  inputSchema: { type: 'object'; [key: string]: unknown };
  /** MCP 2025-11-25 tool-level task negotiation: absent means "forbidden". */
  execution?: { taskSupport: 'optional' };
}

/** The `tools/list` entries, computed once: JSON Schema from each tool's zod input, kept lean. */
export function listTools(tools: readonly ToolDefinition[]): ListedTool[] {
  return tools.map((tool) => {
    const { $schema: _drop, ...schema } = z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' });
    return {
      name: tool.name,
      description: tool.description,
      inputSchema: { ...schema, type: 'object' },
      ...(tool.startTask ? { execution: { taskSupport: 'optional' as const } } : {}),
    };
  });
}
