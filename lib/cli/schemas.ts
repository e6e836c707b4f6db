import { z } from 'zod';
import { orderingKeySchema, taskTypeSchema } from '../ingest/contract.js';

/** The parts of the admin API's answers the CLI shows; unknown fields pass through (the API may grow). */

export const taskSummary = z
  .object({
    id: z.string(),
    type: z.string(),
    status: z.number(),
    statusName: z.string(),
    attempts: z.number(),
    maxRetries: z.number(),
    workerId: z.string().nullable(),
    cancelRequested: z.boolean(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .loose();

export const taskDetail = taskSummary
  .extend({
    priority: z.number(),
    version: z.number(),
    idempotencyKey: z.string(),
    payload: z.unknown(),
    result: z.unknown(),
    reason: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    nextAttemptAt: z.string(),
    traceparent: z.string().nullable().optional(),
    source: z.object({ provider: z.string(), queue: z.string(), messageId: z.string().optional() }).nullable(),
    errors: z.array(
      z.object({
        message: z.string(),
        stack: z.string().optional(),
        kind: z.string().optional(),
        workerId: z.string().optional(),
        attempt: z.number(),
        at: z.string(),
      }),
    ),
    history: z.array(
      z.object({
        from: z.number().nullable(),
        fromName: z.string().nullable(),
        to: z.number(),
        toName: z.string(),
        at: z.string(),
        by: z.string().optional(),
        reason: z.string().optional(),
      }),
    ),
  })
  .loose();

export const taskPage = z.object({ items: z.array(taskSummary), nextCursor: z.string().nullable() });

export const cancelAnswer = z.object({ outcome: z.enum(['cancelled', 'requested']), task: taskDetail });

export const health = z.object({
  status: z.enum(['healthy', 'unhealthy']),
  checks: z.object({
    database: z.object({ ok: z.boolean(), latencyMs: z.number().optional(), error: z.string().optional() }),
    queues: z.array(
      z.object({ provider: z.string(), queue: z.string(), ok: z.boolean(), error: z.string().optional() }),
    ),
    reclaimer: z.object({
      ok: z.boolean(),
      configured: z.boolean(),
      lastRunAt: z.string().nullable().optional(),
      ageMs: z.number().nullable().optional(),
      error: z.string().optional(),
    }),
  }),
});

const totals = z.object({ succeeded: z.number(), failed: z.number(), cancelled: z.number(), retried: z.number() });

export const orderingKey = z
  .object({ key: z.string(), activeTaskId: z.string().nullable(), blocked: z.boolean(), seq: z.number() })
  .loose();
export const orderingKeys = z.object({ items: z.array(orderingKey) });
export const unblockAnswer = z.object({ outcome: z.literal('unblocked'), key: orderingKey.nullable() });

export const stats = z.object({
  total: z.number(),
  statuses: z.array(z.object({ status: z.number(), name: z.string(), count: z.number() })),
  oldestClaimableAgeMs: z.number().nullable(),
  waitingWithoutWorker: z.array(z.object({ type: z.string(), count: z.number() })).optional(),
  throughput: z.object({ totals, perMinute: z.object({ succeeded: z.number(), failed: z.number() }) }).loose(),
  rates: z.object({ failureRate: z.number().nullable(), retryRate: z.number().nullable() }),
  blockedOrderingKeys: z.array(orderingKey).optional(),
});

export const workers = z.object({
  items: z.array(
    z
      .object({
        id: z.string(),
        state: z.string(),
        stale: z.boolean(),
        heartbeatAgeMs: z.number(),
        currentTasks: z.number(),
        concurrency: z.number(),
        processed: z.number().nullable(),
        host: z
          .object({ hostname: z.string().optional(), runtime: z.string().optional() })
          .loose()
          .nullable()
          .optional(),
      })
      .loose(),
  ),
});

export const queues = z.object({
  items: z.array(
    z
      .object({
        provider: z.string(),
        queue: z.string(),
        reachable: z.boolean(),
        depth: z.number().nullable(),
        deadLetterDepth: z.number().nullable(),
        oldestMessageAgeMs: z.number().nullable(),
        error: z.string().optional(),
      })
      .loose(),
  ),
});

export const replay = z.object({
  provider: z.string(),
  queue: z.string(),
  replayed: z.number(),
  failed: z.number(),
  errors: z.array(z.string()),
});

/** One line of an enqueue file: a task as POST /tasks takes it. */
/** A task line; the shared input limits were applied before (lib/tasks/input-limits.ts). */
export const enqueueLine = z.strictObject({
  type: taskTypeSchema,
  payload: z.json().optional(),
  priority: z.number().int().optional(),
  idempotencyKey: z.string().min(1).max(512).optional(),
  maxRetries: z.number().int().min(0).max(100).optional(),
  notBefore: z.string().optional(),
  timeoutMs: z.number().int().min(1).optional(),
  orderingKey: orderingKeySchema.optional(),
});
export type EnqueueLine = z.output<typeof enqueueLine>;

/** GET /dead-letters/tasks: tasks sent to DeadLetter:Queue. */
export const taskDeadLetters = z.object({
  queue: z.string(),
  items: z.array(
    z
      .object({
        taskId: z.string(),
        type: z.string(),
        status: z.string(),
        reason: z.string().nullable(),
        attempts: z.number(),
        finishedAt: z.string().nullable(),
        sentAt: z.string().nullable(),
        replayedAt: z.string().nullable(),
        replayMessageId: z.string().nullable(),
      })
      .loose(),
  ),
});

/** A replay of task dead letters: which old task went out again as which message. */
export const taskReplays = z.object({ replays: z.array(z.object({ taskId: z.string(), messageId: z.string() })) });
