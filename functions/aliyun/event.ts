/**
 * Function Compute 3.0 (Node.js 20) event and context shapes, parsed with zod at the edge.
 * The event arrives as a Buffer; its JSON depends on the trigger.
 */
import { z } from 'zod';

export const fcContextSchema = z.object({
  requestId: z.string(),
  credentials: z
    .object({ accessKeyId: z.string(), accessKeySecret: z.string(), securityToken: z.string() })
    .partial()
    .optional(),
  function: z
    .object({
      name: z.string(),
      handler: z.string().optional(),
      memory: z.number().optional(),
      timeout: z.number().optional(),
    })
    .partial()
    .optional(),
  region: z.string().optional(),
  accountId: z.string().optional(),
  instanceID: z.string().optional(),
});
export type FcContext = z.infer<typeof fcContextSchema>;

/** Timer trigger event: { triggerTime, triggerName, payload }. */
export const timerEventSchema = z.object({
  triggerTime: z.string(),
  triggerName: z.string(),
  payload: z.string().optional().default(''),
});
export type TimerEvent = z.infer<typeof timerEventSchema>;

/** HTTP trigger event (FC 3.0 format "v1"). */
export const httpEventSchema = z.object({
  version: z.string().optional(),
  rawPath: z.string(),
  body: z.string().optional().default(''),
  isBase64Encoded: z.boolean().optional().default(false),
  headers: z.record(z.string(), z.string()).optional().default({}),
  queryParameters: z.record(z.string(), z.string()).optional().default({}),
  requestContext: z.object({
    http: z.object({ method: z.string(), path: z.string().optional() }),
    requestId: z.string().optional(),
  }),
});
export type HttpEvent = z.infer<typeof httpEventSchema>;

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  isBase64Encoded: boolean;
  body: string;
}

/** The invocation's event as JSON (a Buffer in FC 3.0; tests may pass a string or an object). */
export function eventJson(event: unknown): unknown {
  if (Buffer.isBuffer(event)) event = event.toString('utf8');
  if (typeof event === 'string') {
    if (event.trim() === '') return {};
    return JSON.parse(event) as unknown;
  }
  return event ?? {};
}

/** The function timeout in ms from the context (FC passes seconds), or the FC default of 60 s. */
export function fcTimeoutMs(ctx: FcContext): number {
  return (ctx.function?.timeout ?? 60) * 1000;
}
