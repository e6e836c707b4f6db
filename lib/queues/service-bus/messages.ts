/** Mapping between the provider's message shapes and the SDK's. Bodies travel as UTF-8 bytes (AMQP data section). */
import { randomUUID } from 'node:crypto';
import type {
  ServiceBusMessage,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
  ServiceBusSessionReceiver,
} from '@azure/service-bus';
import type { OutgoingMessage, QueueMessage } from '../provider.js';

/**
 * Deliveries already used up before a delayed abandon re-sent the message (see the provider's abandon):
 * carried as an application property so DeliveryCount and the max-delivery-count rule keep counting.
 */
export const carriedDeliveriesProperty = 'TaskmeshPriorDeliveries';

export type PropertyValue = string | number | boolean;

/** What `QueueMessage.handle` holds for this provider: the SDK message and the receiver that settles it. */
export class ServiceBusHandle {
  settled = false;
  constructor(
    readonly message: ServiceBusReceivedMessage,
    readonly receiver: ServiceBusReceiver | ServiceBusSessionReceiver,
    readonly source: 'entity' | 'dead-letter' | 'session' | 'deferred',
    /** Called once the message is settled (sessions count outstanding messages). */
    readonly onSettled?: () => void,
  ) {}

  markSettled(): void {
    if (this.settled) return;
    this.settled = true;
    this.onSettled?.();
  }
}

export function toServiceBusMessage(m: OutgoingMessage, now = Date.now()): ServiceBusMessage & { messageId: string } {
  if (typeof m.body !== 'string') throw new TypeError('OutgoingMessage.body must be a string');
  const scheduledAt = m.scheduledAt ?? (m.delayMs && m.delayMs > 0 ? new Date(now + m.delayMs) : undefined);
  return {
    body: Buffer.from(m.body, 'utf8'),
    messageId: m.messageId ?? randomUUID(),
    ...(m.sessionId !== undefined ? { sessionId: m.sessionId } : {}),
    ...(m.properties ? { applicationProperties: { ...m.properties } } : {}),
    ...(scheduledAt ? { scheduledEnqueueTimeUtc: scheduledAt } : {}),
  };
}

/** A copy of a received message to send again (delayed abandon), with its deliveries so far carried along. */
export function resendable(received: ServiceBusReceivedMessage, deliveriesSoFar: number): ServiceBusMessage {
  const copy: ServiceBusMessage = {
    body: received.body,
    messageId: received.messageId,
    applicationProperties: { ...(received.applicationProperties ?? {}), [carriedDeliveriesProperty]: deliveriesSoFar },
  };
  for (const key of [
    'contentType',
    'correlationId',
    'subject',
    'sessionId',
    'partitionKey',
    'replyTo',
    'replyToSessionId',
    'to',
    'timeToLive',
  ] as const) {
    if (received[key] !== undefined) Object.assign(copy, { [key]: received[key] });
  }
  return copy;
}

export function toQueueMessage(received: ServiceBusReceivedMessage, handle: ServiceBusHandle): QueueMessage {
  const carried = Number(received.applicationProperties?.[carriedDeliveriesProperty] ?? 0) || 0;
  const properties = applicationProperties(received.applicationProperties);
  return {
    id: messageIdText(received.messageId) ?? `seq:${received.sequenceNumber?.toString() ?? '?'}`,
    body: bodyText(received.body),
    // The SDK exposes the AMQP header's count of previous attempts; QueueMessage counts this one too.
    deliveryCount: (received.deliveryCount ?? 0) + 1 + carried,
    enqueuedAt: received.enqueuedTimeUtc ?? new Date(),
    ...(properties ? { properties } : {}),
    ...(received.sessionId !== undefined ? { sessionId: received.sessionId } : {}),
    handle,
  };
}

export function bodyText(body: unknown): string {
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  if (typeof body === 'string') return body;
  // Senders that used an AMQP value body (other SDKs, JSON objects): keep it readable as JSON.
  return body === undefined || body === null ? '' : JSON.stringify(body);
}

function messageIdText(id: unknown): string | undefined {
  if (typeof id === 'string') return id;
  if (typeof id === 'number') return String(id);
  if (Buffer.isBuffer(id)) return id.toString('hex');
  return undefined;
}

function applicationProperties(props: Record<string, unknown> | undefined): Record<string, PropertyValue> | undefined {
  if (!props) return undefined;
  const out: Record<string, PropertyValue> = {};
  for (const [k, v] of Object.entries(props)) {
    if (k === carriedDeliveriesProperty) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (v instanceof Date) out[k] = v.toISOString();
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
