import type { Context } from 'hono';
import { z } from 'zod';
import type { ApiCaller } from '../auth/api-auth.ts';

export type ApiMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** What a route handler gets: its validated parts, who calls, and the request's cancellation. */
export interface ApiInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  caller: ApiCaller;
  signal: AbortSignal;
  /** The Hono context, for routes that stream (raw bodies, binary answers, cookies). */
  c: Context;
}

/**
 * One /api route as data: method, path, the zod schemas of its parts and its handler. The
 * router (api-router.ts) validates with these schemas and the OpenAPI document (openapi.ts) is
 * generated from the same ones, so the two cannot drift.
 */
export interface ApiRoute<
  P extends z.ZodObject = z.ZodObject,
  Q extends z.ZodObject = z.ZodObject,
  B extends z.ZodType = z.ZodType,
> {
  method: ApiMethod;
  /** Hono syntax, relative to /api: `/clients/:uuid`. */
  path: string;
  summary: string;
  params?: P;
  query?: Q;
  /** A JSON body's schema. */
  body?: B;
  /** The body is streamed to the handler unread (file upload): no JSON, no body limit. */
  rawBody?: boolean;
  /** JSON answer's schema; `binary`: application/octet-stream; `none`: 204. */
  response: z.ZodType | 'binary' | 'none';
  /** No authentication (signing in). */
  public?: boolean;
  handler(input: ApiInput<z.infer<P>, z.infer<Q>, z.infer<B>>): Promise<unknown>;
}

/** Keeps the schemas' inferred types attached to the handler. */
export function apiRoute<P extends z.ZodObject, Q extends z.ZodObject, B extends z.ZodType>(
  route: ApiRoute<P, Q, B>,
): ApiRoute {
  return route as unknown as ApiRoute;
}

/** The shared error body every failure answers with. */
export const ErrorBody = z.object({
  error: z.string().describe('error code (packages/protocol/src/errors.ts)'),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
  recovery_hint: z.string().optional(),
});

/** `:uuid` in a path. */
export const UuidParams = z.object({ uuid: z.string().min(1).max(200) });

/** An ISO 8601 time in a query string, as milliseconds since the epoch. */
export const IsoTime = z
  .string()
  .max(40)
  .refine((s) => !Number.isNaN(Date.parse(s)), 'not an ISO 8601 time')
  .transform((s) => Date.parse(s));

/** A page size in a query string. */
export const Limit = z.coerce.number().int().min(1).max(1000);
