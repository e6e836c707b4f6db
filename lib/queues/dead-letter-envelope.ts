/**
 * The dead-letter envelope, for providers whose messages carry no properties (MNS, Storage Queue).
 *
 * `deadLetter(message, reason)` on those providers writes a JSON envelope to the dead-letter queue that
 * keeps the original body intact next to the reason, so `receiveDeadLetters` can give both back. A
 * message that is not an envelope (put there by the Functions host, or by hand) is read as a plain body.
 */
import { createHash } from 'node:crypto';
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
  /** Set when only a prefix of the body fitted the dead-letter queue's size limit. */
  bodyTruncated: z.boolean().optional(),
  bodyBytes: z.number().int().optional(),
  bodySha256: z.string().optional(),
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

/** How a dead letter was written: the envelope, the bare body (no room for the reason), or a truncated envelope. */
export type DeadLetterForm = 'envelope' | 'body' | 'truncated';

/**
 * The dead letter in the first form that `fits` the dead-letter queue: the envelope with the whole body;
 * else the bare body (kept intact; ingest records the reason on the Failed task); else the envelope with a
 * prefix of the body, its size and SHA-256, so a message too large for every form still ends somewhere
 * instead of coming back forever.
 */
export function fitDeadLetter(
  message: QueueMessage,
  queue: string,
  reason: string,
  description: string | undefined,
  fits: (text: string) => boolean,
): { text: string; form: DeadLetterForm } {
  const full = encodeDeadLetter(message, queue, reason, description);
  if (fits(full)) return { text: full, form: 'envelope' };
  if (fits(message.body)) return { text: message.body, form: 'body' };
  const body = message.body;
  const extra = {
    bodyTruncated: true,
    bodyBytes: Buffer.byteLength(body, 'utf8'),
    bodySha256: createHash('sha256').update(body, 'utf8').digest('hex'),
  };
  const withPrefix = (chars: number, desc: string | undefined): string => {
    let end = chars;
    // Never split a surrogate pair.
    const last = end > 0 && end < body.length ? body.charCodeAt(end - 1) : 0;
    if (last >= 0xd800 && last <= 0xdbff) end--;
    const prefix = { ...message, body: body.slice(0, end) };
    const envelope = JSON.parse(encodeDeadLetter(prefix, queue, reason, desc)) as Record<string, unknown>;
    return JSON.stringify({ ...envelope, ...extra });
  };
  // The longest prefix that fits (binary search; fits is monotone in the prefix length).
  const desc = fits(withPrefix(0, description)) ? description : undefined;
  let lo = 0;
  let hi = body.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(withPrefix(mid, desc))) lo = mid;
    else hi = mid - 1;
  }
  return { text: withPrefix(lo, desc), form: 'truncated' };
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
      ...(e.bodyTruncated ? { BodyTruncated: true, BodyBytes: e.bodyBytes ?? -1, BodySha256: e.bodySha256 ?? '' } : {}),
    },
    ...(Number.isNaN(enqueuedAt.getTime()) ? {} : { enqueuedAt }),
  };
}
