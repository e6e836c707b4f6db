/**
 * The dead-letter envelope, for providers whose messages carry no properties (MNS, Storage Queue).
 *
 * `deadLetter(message, reason)` on those providers writes a JSON envelope to the dead-letter queue that
 * keeps the original body intact next to the reason, so `receiveDeadLetters` can give both back. A
 * message that is not an envelope (put there by the Functions host, or by hand) is read as a plain body.
 */
import { z } from 'zod';
import { DEAD_LETTER_DESCRIPTION_PROPERTY, DEAD_LETTER_REASON_PROPERTY, type QueueMessage } from './provider.js';

/** Marker and version of the envelope format; bump on an incompatible change. */
export const DEAD_LETTER_ENVELOPE_MARKER = 'taskmesh.deadletter/1';

const envelopeSchema = z.object({
  format: z.literal(DEAD_LETTER_ENVELOPE_MARKER),
  reason: z.string(),
  description: z.string().optional(),
  /** The original message's id, delivery count and enqueue time, and the queue it left. */
  messageId: z.string(),
  deliveryCount: z.number().int(),
  enqueuedAt: z.string(),
  queue: z.string(),
  deadLetteredAt: z.string(),
  body: z.string(),
});
export type DeadLetterEnvelope = z.infer<typeof envelopeSchema>;

/** Reason codes providers use when they dead-letter on their own. */
export const MAX_DELIVERY_EXCEEDED = 'MaxDeliveryCountExceeded';

/** Descriptions are for people; a bounded length keeps the envelope within the providers' size limits. */
const MAX_DESCRIPTION_CHARS = 2048;

export function encodeDeadLetter(message: QueueMessage, queue: string, reason: string, description?: string): string {
  const envelope: DeadLetterEnvelope = {
    format: DEAD_LETTER_ENVELOPE_MARKER,
    reason: reason.slice(0, 256),
    ...(description !== undefined ? { description: description.slice(0, MAX_DESCRIPTION_CHARS) } : {}),
    messageId: message.id,
    deliveryCount: message.deliveryCount,
    enqueuedAt: message.enqueuedAt.toISOString(),
    queue,
    deadLetteredAt: new Date().toISOString(),
    body: message.body,
  };
  return JSON.stringify(envelope);
}

export interface DecodedDeadLetter {
  body: string;
  properties: Record<string, string | number | boolean>;
  enqueuedAt?: Date;
}

/** Unwraps an envelope; anything else is returned as it is, with no reason. */
export function decodeDeadLetter(text: string): DecodedDeadLetter {
  if (!text.startsWith('{') || !text.includes(DEAD_LETTER_ENVELOPE_MARKER)) return { body: text, properties: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { body: text, properties: {} };
  }
  const r = envelopeSchema.safeParse(parsed);
  if (!r.success) return { body: text, properties: {} };
  const e = r.data;
  const enqueuedAt = new Date(e.enqueuedAt);
  return {
    body: e.body,
    properties: {
      [DEAD_LETTER_REASON_PROPERTY]: e.reason,
      ...(e.description !== undefined ? { [DEAD_LETTER_DESCRIPTION_PROPERTY]: e.description } : {}),
      OriginalMessageId: e.messageId,
      OriginalDeliveryCount: e.deliveryCount,
      DeadLetterSource: e.queue,
      DeadLetteredAt: e.deadLetteredAt,
    },
    ...(Number.isNaN(enqueuedAt.getTime()) ? {} : { enqueuedAt }),
  };
}
