import { z } from 'zod';
import { redactConnectionString } from '../../config/redact.js';
import type { OutgoingMessage, QueueMessage, QueueProvider } from '../../queues/provider.js';
import { healthWithin } from '../../telemetry/metrics.js';
import { idParam, json, parseBody } from '../http.js';
import { problems } from '../problem.js';
import type { Route } from '../route.js';
import { errorMessage } from '../../errors/message.js';

const replayBody = z.strictObject({
  /** At most this many messages (default 100). */
  max: z.number().int().min(1).max(10_000).default(100),
  /** Provider kind, when several providers read a queue of this name. */
  provider: z.string().min(1).max(100).optional(),
});

/** Dead-letter receives per round trip (providers cap it lower themselves). */
const RECEIVE_BATCH = 32;
const MAX_ERRORS_REPORTED = 10;

export interface ReplayResult {
  provider: string;
  queue: string;
  deadLetterQueue: string;
  replayed: number;
  failed: number;
  errors: string[];
}

/** The message again, as new: body, properties and session kept; the provider assigns a new id (the old one is kept in a property). */
function asNewMessage(m: QueueMessage): OutgoingMessage {
  return {
    body: m.body,
    properties: { ...m.properties, taskmeshReplayOf: m.id },
    ...(m.sessionId ? { sessionId: m.sessionId } : {}),
  };
}

/**
 * Moves up to `max` dead-lettered messages back to the main queue: receive from the dead-letter
 * queue, send to the main queue, then complete in the dead-letter queue. At least once: if the
 * completion fails after the send, the message may be replayed twice (ingest is idempotent per
 * message id, and the replayed copy has its own id). A message whose send fails stays dead-lettered.
 */
export async function replayDeadLetters(p: QueueProvider, max: number): Promise<ReplayResult> {
  const result: ReplayResult = {
    provider: p.kind,
    queue: p.queueName,
    deadLetterQueue: p.deadLetterQueueName,
    replayed: 0,
    failed: 0,
    errors: [],
  };
  const note = (what: string, e: unknown) => {
    if (result.errors.length < MAX_ERRORS_REPORTED)
      result.errors.push(`${what}: ${redactConnectionString(errorMessage(e))}`);
  };
  while (result.replayed + result.failed < max) {
    const batch = await p.receiveDeadLetters({
      maxMessages: Math.min(RECEIVE_BATCH, max - result.replayed - result.failed),
      waitMs: 0,
    });
    if (batch.length === 0) break;
    let sentInBatch = 0;
    for (const m of batch) {
      if (m.properties?.BodyTruncated === true) {
        // Only a prefix fitted the dead-letter queue; replaying it would only be refused again.
        result.failed++;
        note(
          `replay ${m.id}`,
          new Error('only a prefix of the body was dead-lettered; its Failed task keeps the body'),
        );
        continue;
      }
      try {
        await p.send(asNewMessage(m));
      } catch (e) {
        result.failed++;
        note(`send ${m.id}`, e);
        continue;
      }
      sentInBatch++;
      result.replayed++;
      try {
        await p.completeDeadLetter(m);
      } catch (e) {
        note(`complete ${m.id} (sent; may be replayed again)`, e);
      }
    }
    // Nothing of a whole batch could be sent: the main queue is failing; stop instead of draining the DLQ into errors.
    if (sentInBatch === 0) break;
  }
  return result;
}

export const queueRoutes: Route[] = [
  {
    method: 'GET',
    path: '/queues',
    async handle({ ctx, options }) {
      const healths = await Promise.all(ctx.queues.map((p) => healthWithin(p, options.dependencyTimeoutMs)));
      return json(200, {
        items: healths.map((h, i) => ({
          provider: h.provider,
          queue: h.queue,
          deadLetterQueue: ctx.queues[i]!.deadLetterQueueName,
          reachable: h.reachable,
          depth: h.depth ?? null,
          inFlight: h.inFlight ?? null,
          delayed: h.delayed ?? null,
          deadLetterDepth: h.deadLetterDepth ?? null,
          oldestMessageAgeMs: h.oldestMessageAgeMs ?? null,
          ...(h.error ? { error: redactConnectionString(h.error) } : {}),
        })),
      });
    },
  },
  {
    method: 'POST',
    path: '/queues/{name}/dead-letters/replay',
    async handle({ req, params, ctx, options }) {
      const name = idParam.safeParse(params.name);
      if (!name.success)
        throw problems.badRequest('The queue name is invalid.', [
          { name: 'name', reason: name.error.issues[0]?.message ?? 'invalid' },
        ]);
      const body = parseBody(req, replayBody, { optional: true, maxBytes: options.maxBodyBytes });
      // DeadLetter:Queue itself holds dead letters (of tasks): replaying it makes new runs.
      if (ctx.taskDeadLetters?.queueName === name.data && !body.provider)
        return json(200, await ctx.taskDeadLetters.replay(body.max));
      const matches = ctx.queues.filter(
        (p) =>
          (p.queueName === name.data || p.deadLetterQueueName === name.data) &&
          (!body.provider || p.kind === body.provider),
      );
      if (matches.length === 0)
        throw problems.notFound(`No queue ${name.data}${body.provider ? ` of provider ${body.provider}` : ''}.`);
      if (matches.length > 1) {
        throw problems.badRequest(`Several providers read a queue named ${name.data}; say which.`, [
          { name: 'provider', reason: `one of ${matches.map((p) => p.kind).join(', ')}` },
        ]);
      }
      return json(200, await replayDeadLetters(matches[0]!, body.max));
    },
  },
];
