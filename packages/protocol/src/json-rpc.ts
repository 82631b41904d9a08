import { z } from 'zod';

/** JSON-RPC 2.0 envelopes (https://www.jsonrpc.org/specification). */
export const RpcId = z.union([z.string().max(128), z.number().int()]);
export type RpcId = z.infer<typeof RpcId>;

export const RpcRequest = z.object({
  jsonrpc: z.literal('2.0'),
  id: RpcId,
  method: z.string().min(1).max(128),
  params: z.unknown().optional(),
});
export type RpcRequest = z.infer<typeof RpcRequest>;

export const RpcNotification = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1).max(128),
  params: z.unknown().optional(),
});

export const RpcErrorShape = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});

export const RpcResponse = z.union([
  z.object({ jsonrpc: z.literal('2.0'), id: RpcId.nullable(), result: z.unknown() }),
  z.object({ jsonrpc: z.literal('2.0'), id: RpcId.nullable(), error: RpcErrorShape }),
]);
export type RpcResponse = z.infer<typeof RpcResponse>;

/** Notification sent to ask the peer to stop work on a request it is serving. */
export const CANCEL_METHOD = '$/cancelRequest';
export const CancelParams = z.object({ id: RpcId });
