import { z } from 'zod';
import { orderingKeySchema, taskTypeSchema } from '../../ingest/contract.js';
import { TaskNotFoundError } from '../../store/errors.js';
import type { TaskStore } from '../../store/task-store.js';
import type { NewTask } from '../../tasks/model.js';
import { parseStatus, type JobTaskStatus } from '../../tasks/status.js';
import { withSpan, spanAttributes } from '../../telemetry/tracing.js';
import { headerValue } from '../auth.js';
import { idParam, json, listParam, parseBody, parseQuery, timeParam } from '../http.js';
import { problems } from '../problem.js';
import type { Route } from '../route.js';
import type { AdminContext } from '../types.js';
import { taskDetail, taskSummary } from '../views.js';

const statusList = listParam.transform((values, ctx) => {
  const out: JobTaskStatus[] = [];
  for (const v of values) {
    const s = parseStatus(v);
    if (s === undefined)
      ctx.addIssue({ code: 'custom', message: `unknown status "${v.slice(0, 40)}" (a JobTaskStatus name or number)` });
    else out.push(s);
  }
  return out;
});

/** The cursor check asks the store: only it knows what its cursors look like. */
const listQuery = (store: TaskStore) =>
  z
    .strictObject({
      status: statusList.optional(),
      type: z.string().min(1).max(200).optional(),
      worker: z.string().min(1).max(300).optional(),
      from: timeParam.optional(),
      to: timeParam.optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      cursor: z
        .string()
        .max(512)
        .refine((c) => store.isValidCursor(c), { message: 'not a cursor this API returned' })
        .optional(),
    })
    .refine((q) => !q.from || !q.to || q.from < q.to, { message: 'from must be before to', path: ['from'] });

/** The body was scanned by the shared input limits first (parseBody's `task`); the type follows the message contract. */
const createBody = z.strictObject({
  type: taskTypeSchema,
  payload: z.json().optional(),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional(),
  idempotencyKey: z.string().min(1).max(512).optional(),
  maxRetries: z.number().int().min(0).max(100).optional(),
  notBefore: z.iso.datetime({ offset: true }).optional(),
  timeoutMs: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400_000)
    .optional(),
  orderingKey: orderingKeySchema.optional(),
});

const cancelBody = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });
const retryBody = z.strictObject({ expectedVersion: z.number().int().min(0).optional() });

/** A type no handler declares would wait forever: refused (422) with the known types, as ingest refuses it. */
export function refuseUnknownType(ctx: AdminContext, type: string): void {
  const rule = ctx.taskTypes;
  if (!rule || rule.accepts(type)) return;
  try {
    rule.check(type);
  } catch (e) {
    throw problems.unknownTaskType(type, rule.known, e instanceof Error ? e.message : String(e));
  }
}

function taskId(params: Record<string, string>): string {
  const r = idParam.safeParse(params.id);
  if (!r.success)
    throw problems.badRequest('The task id is invalid.', [
      { name: 'id', reason: r.error.issues[0]?.message ?? 'invalid' },
    ]);
  return r.data;
}

export const taskRoutes: Route[] = [
  {
    method: 'GET',
    path: '/tasks',
    async handle({ req, ctx }) {
      const q = parseQuery(req, listQuery(ctx.store), ['status']);
      const page = await ctx.store.list(
        {
          ...(q.status?.length ? { status: q.status } : {}),
          ...(q.type ? { type: q.type } : {}),
          ...(q.worker ? { workerId: q.worker } : {}),
          ...(q.from ? { createdFrom: q.from } : {}),
          ...(q.to ? { createdTo: q.to } : {}),
        },
        { limit: q.limit, cursor: q.cursor ?? null },
      );
      return json(200, { items: page.tasks.map(taskSummary), nextCursor: page.nextCursor });
    },
  },
  {
    method: 'GET',
    path: '/tasks/{id}',
    async handle({ params, ctx }) {
      const id = taskId(params);
      const task = await ctx.store.get(id);
      if (!task) throw problems.notFound(`No task ${id}.`);
      return json(200, taskDetail(task));
    },
  },
  {
    method: 'POST',
    path: '/tasks',
    async handle({ req, ctx, options }) {
      const body = parseBody(req, createBody, {
        maxBytes: options.maxBodyBytes,
        task: { maxBytes: options.maxTaskBytes },
      });
      refuseUnknownType(ctx, body.type);
      // The IETF Idempotency-Key header is honoured when the body does not carry a key.
      const key = body.idempotencyKey ?? headerValue(req.headers, 'idempotency-key');
      const newTask: NewTask = {
        type: body.type,
        payload: body.payload ?? null,
        ...(body.priority !== undefined ? { priority: body.priority } : {}),
        ...(key ? { idempotencyKey: key.slice(0, 512) } : {}),
        ...(body.maxRetries !== undefined ? { maxRetries: body.maxRetries } : {}),
        ...(body.notBefore ? { notBefore: new Date(body.notBefore) } : {}),
        ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}),
        ...(body.orderingKey !== undefined ? { orderingKey: body.orderingKey } : {}),
        source: { provider: 'api', queue: 'admin' },
      };
      // The span makes the store record its traceparent in the task, like a message's ingest span does.
      return withSpan('admin.task.create', { [spanAttributes.taskType]: body.type }, async (span) => {
        const result = await ctx.store.ingest([newTask], { by: 'admin-api' });
        const item = result.items[0]!;
        span.setAttribute(spanAttributes.taskId, item.taskId);
        const task = await ctx.store.get(item.taskId);
        if (!task) throw new TaskNotFoundError(item.taskId);
        return json(item.duplicate ? 200 : 201, taskDetail(task), {
          location: `${options.basePath}/tasks/${encodeURIComponent(task._id)}`,
        });
      });
    },
  },
  {
    method: 'POST',
    path: '/tasks/{id}/cancel',
    async handle({ req, params, ctx, options }) {
      const id = taskId(params);
      const body = parseBody(req, cancelBody, { optional: true, maxBytes: options.maxBodyBytes });
      const result = await ctx.store.cancel(id, { by: 'admin-api', ...(body.reason ? { reason: body.reason } : {}) });
      switch (result.outcome) {
        case 'not-found':
          throw problems.notFound(`No task ${id}.`);
        case 'already-finished':
          throw problems.conflict(
            'task-finished',
            `Task ${id} has already finished (${taskSummary(result.task!).statusName}); there is nothing to cancel.`,
            { taskStatus: result.task!.status },
          );
        case 'cancelled':
          return json(200, { outcome: result.outcome, task: taskDetail(result.task!) });
        case 'requested':
          // Running: its worker sees the request at its next heartbeat and stops.
          return json(202, { outcome: result.outcome, task: taskDetail(result.task!) });
      }
    },
  },
  {
    method: 'POST',
    path: '/tasks/{id}/retry',
    async handle({ req, params, ctx, options }) {
      const id = taskId(params);
      const body = parseBody(req, retryBody, { optional: true, maxBytes: options.maxBodyBytes });
      const task = await ctx.store.retry(id, {
        by: 'admin-api',
        ...(body.expectedVersion !== undefined ? { expectedVersion: body.expectedVersion } : {}),
      });
      return json(200, taskDetail(task));
    },
  },
];
