import { z } from 'zod';
import { statusName } from '../../tasks/status.js';
import { json, parseBody, parseQuery } from '../http.js';
import { problems } from '../problem.js';
import type { Route } from '../route.js';
import type { AdminContext, TaskDeadLetterOps } from '../types.js';

const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
export const taskReplayBody = z.strictObject({ max: z.number().int().min(1).max(10_000).default(100) });

function ops(ctx: AdminContext): TaskDeadLetterOps {
  if (!ctx.taskDeadLetters)
    throw problems.notFound('Task dead letters are off: set DeadLetter:Queue to send failed tasks to a queue.');
  return ctx.taskDeadLetters;
}

/** Tasks that ended Error/Timeout after their last attempt and went to DeadLetter:Queue; replay into new runs. */
export const deadLetterRoutes: Route[] = [
  {
    method: 'GET',
    path: '/dead-letters/tasks',
    async handle({ req, ctx }) {
      const q = parseQuery(req, listQuery);
      const dl = ops(ctx);
      const tasks = await dl.list(q.limit);
      return json(200, {
        queue: dl.queueName,
        items: tasks.map((t) => ({
          taskId: t._id,
          type: t.type,
          status: statusName(t.status),
          reason: t.errors.at(-1)?.message ?? t.reason ?? null,
          attempts: t.attempts,
          finishedAt: t.finishedAt ?? null,
          sentAt: t.deadLetter?.sentAt ?? null,
          messageId: t.deadLetter?.messageId ?? null,
          replayedAt: t.deadLetter?.replayedAt ?? null,
          replayMessageId: t.deadLetter?.replayMessageId ?? null,
        })),
      });
    },
  },
  {
    method: 'POST',
    path: '/dead-letters/tasks/replay',
    async handle({ req, ctx, options }) {
      const body = parseBody(req, taskReplayBody, { optional: true, maxBytes: options.maxBodyBytes });
      return json(200, await ops(ctx).replay(body.max));
    },
  },
];
