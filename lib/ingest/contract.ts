/**
 * The message contract: what a queue message must hold to become a task (docs/message-contract.md).
 *
 * A JSON object with a `type` member is an envelope and must match `messageEnvelopeSchema` exactly
 * (unknown members are an error, so a misspelt `payLoad` is caught rather than silently ignored).
 * Any other JSON value (an object without `type`, an array, a string, ...) is a bare payload from a
 * producer that knows nothing of taskmesh: it becomes the task's payload, and the task type comes from
 * the message property named by Ingest:TaskTypeProperty, else Ingest:DefaultTaskType.
 */
import { z } from 'zod';
import { parseDuration } from '../config/duration.js';
import { MAX_TASK_DEPTH } from '../tasks/input-limits.js';

/** Task types: letters, digits and `_ . : - /`, starting with a letter or digit (never `$`). */
export const taskTypeSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/, {
    message: 'a task type: letters, digits, "_ . : - /", starting with a letter or digit',
  });

const MAX_TIMEOUT_MS = 7 * 86_400_000;

/** An ordering key: 1-128 characters, as a Service Bus session id. */
export const orderingKeySchema = z.string().min(1).max(128);

/** ISO 8601 with an offset ("2026-01-01T10:00:00Z") or epoch milliseconds. */
const instantSchema = z
  .union([
    z.iso.datetime({ offset: true, message: 'an ISO 8601 date-time with offset' }),
    z.number().int().nonnegative(),
  ])
  .transform((v) => new Date(v));

/** Milliseconds, or a duration: "00:05:00", "30s", "5m". */
const timeoutSchema = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms === undefined || ms < 1 || ms > MAX_TIMEOUT_MS) {
    ctx.addIssue({
      code: 'custom',
      message: 'a timeout: milliseconds or "hh:mm:ss" / "30s" / "5m", from 1 ms to 7 days',
    });
    return z.NEVER;
  }
  return ms;
});

export const messageEnvelopeSchema = z.strictObject({
  type: taskTypeSchema,
  payload: z.unknown().optional(),
  /** Same key, same task: a producer's retry never makes a second task. Default: the queue message id. */
  idempotencyKey: z.string().min(1).max(512).optional(),
  /** Higher runs first. */
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  /** Retries after the first attempt (default Worker:MaxRetries). */
  maxRetries: z.number().int().min(0).max(100).optional(),
  /** Not run before this time. */
  notBefore: instantSchema.optional(),
  /** Handler time limit for this task. */
  timeout: timeoutSchema.optional(),
  /** Tasks with the same key run one at a time, in ingest order (a Service Bus message's session id wins). */
  orderingKey: orderingKeySchema.optional(),
});

export type MessageEnvelope = z.output<typeof messageEnvelopeSchema>;
/** What a producer writes (before transforms). */
export type MessageEnvelopeInput = z.input<typeof messageEnvelopeSchema>;

/** Why a message was refused; each becomes the dead-letter reason and the Failed task's reason. */
export const rejectionCodes = [
  'BodyTooLarge',
  'InvalidEncoding',
  'InvalidJson',
  'ForbiddenKey',
  'PayloadTooDeep',
  'UnsupportedValue',
  'SchemaViolation',
  'MissingTaskType',
  'UnknownTaskType',
] as const;
export type RejectionCode = (typeof rejectionCodes)[number];

/** The nesting limit every door applies (lib/tasks/input-limits.ts). */
export const MAX_PAYLOAD_DEPTH = MAX_TASK_DEPTH;
