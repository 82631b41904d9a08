import { z } from 'zod';
import { type ApiRoute, ErrorBody } from './api-route.ts';

type Json = Record<string, unknown>;

/** zod's JSON Schema of `schema` as a request part (input) or answer (output). */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete s.$schema;
  return s;
}

/** `/clients/:uuid` → `/clients/{uuid}` (OpenAPI path templating). */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_]+)/g, '{$1}');
}

function parameters(route: ApiRoute): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', route.params],
    ['query', route.query],
  ] as const) {
    if (!schema) continue;
    const json = schemaOf(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, prop] of Object.entries(json.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (json.required ?? []).includes(name),
        schema: prop,
      });
    }
  }
  return out;
}

function operation(route: ApiRoute): Json {
  const op: Json = {
    summary: route.summary,
    operationId: `${route.method}${route.path.replace(/[/:-]+(\w)/g, (_m, c: string) => c.toUpperCase())}`,
  };
  const params = parameters(route);
  if (params.length > 0) op.parameters = params;
  if (route.body) {
    op.requestBody = {
      required: true,
      content: { 'application/json': { schema: schemaOf(route.body, 'input') } },
    };
  } else if (route.rawBody) {
    op.requestBody = {
      required: true,
      content: {
        'application/octet-stream': {
          schema: { type: 'string', contentMediaType: 'application/octet-stream' },
        },
      },
    };
  }
  const error = {
    description: 'error',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  const ok: Json =
    route.response === 'none'
      ? { '204': { description: 'done' } }
      : route.response === 'binary'
        ? {
            '200': {
              description: 'the bytes',
              content: {
                'application/octet-stream': {
                  schema: { type: 'string', contentMediaType: 'application/octet-stream' },
                },
              },
            },
          }
        : {
            '200': {
              description: 'ok',
              content: { 'application/json': { schema: schemaOf(route.response, 'output') } },
            },
          };
  op.responses = { ...ok, default: error };
  if (route.public) op.security = [];
  return op;
}

/** The OpenAPI 3.1 document of `routes`, mounted under `/api`. */
export function openApiDocument(routes: readonly ApiRoute[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const r of routes) {
    const p = `/api${openApiPath(r.path)}`;
    paths[p] ??= {};
    (paths[p] as Json)[r.method] = operation(r);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Reach HTTP API',
      version,
      description:
        'Everything the MCP tools do, over HTTP. Authenticate with `Authorization: Bearer <key>` or the ' +
        '`reach_session` cookie from POST /api/session. Live events: WebSocket /ws.',
    },
    paths,
    components: {
      schemas: { Error: schemaOf(ErrorBody, 'output') },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        session: { type: 'apiKey', in: 'cookie', name: 'reach_session' },
      },
    },
    security: [{ bearer: [] }, { session: [] }],
  };
}
