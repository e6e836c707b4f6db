import { z } from 'zod';
import type { OutgoingMessage } from '../../queues/provider.js';
import { json, parseBody } from '../http.js';
import { parseTaskInput } from '../../tasks/input-limits.js';
import { HttpProblem, refusedInput } from '../problem.js';
import type { Route } from '../route.js';
import { refuseUnknownType } from './tasks.js';

const MAX_MESSAGE_BYTES = 256 * 1024;

const messageBody = z.strictObject({
  /** The message body: text as is, or any other JSON value serialized. */
  body: z
    .union([z.string(), z.json()])
    .transform((b) => (typeof b === 'string' ? b : JSON.stringify(b)))
    .refine((b) => Buffer.byteLength(b, 'utf8') <= MAX_MESSAGE_BYTES, {
      message: `at most ${MAX_MESSAGE_BYTES} bytes`,
    }),
  properties: z.record(z.string().min(1).max(128), z.union([z.string().max(4096), z.number(), z.boolean()])).optional(),
  delayMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 86_400_000)
    .optional(),
  messageId: z.string().min(1).max(128).optional(),
  sessionId: z.string().min(1).max(128).optional(),
});

export const messageRoutes: Route[] = [
  {
    method: 'POST',
    path: '/messages',
    async handle({ req, ctx, options }) {
      // Known before parsing, so a client learns at once to fall back to POST /tasks.
      if (!ctx.enqueue)
        throw new HttpProblem(
          404,
          'messages-unavailable',
          'Not available',
          'This host does not send messages to a queue; create tasks with POST /tasks.',
        );
      const m = parseBody(req, messageBody, { maxBytes: options.maxBodyBytes });
      // A JSON body is task input: refused here by the rules ingest would dead-letter it by.
      const parsed = parseTaskInput(m.body, { maxBytes: MAX_MESSAGE_BYTES });
      if (!parsed.ok && parsed.violation) throw refusedInput(parsed.violation);
      const type = parsed.ok ? typeOf(parsed.value) : undefined;
      if (type !== undefined) refuseUnknownType(ctx, type);
      const message: OutgoingMessage = {
        body: m.body,
        ...(m.properties ? { properties: m.properties } : {}),
        ...(m.delayMs !== undefined ? { delayMs: m.delayMs } : {}),
        ...(m.messageId ? { messageId: m.messageId } : {}),
        ...(m.sessionId ? { sessionId: m.sessionId } : {}),
      };
      const sent = await ctx.enqueue(message);
      return json(202, { messageId: sent.messageId });
    },
  },
];

/** The "type" of a contract message body, when it has one (bare payloads are typed at ingest, by property or default). */
function typeOf(doc: unknown): string | undefined {
  const t = doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>).type : undefined;
  return typeof t === 'string' ? t : undefined;
}
