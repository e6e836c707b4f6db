import { app, type InvocationContext } from '@azure/functions';
import { z } from 'zod';
import { ingestPushedMessages } from '../../lib/app/invocations.js';
import type { PushedMessage, PushResult } from '../../lib/ingest/index.js';
import { invocationInfo, services } from './services.js';

// Trigger metadata of a batch (cardinality "many"): one array entry per message.
const scalar = z.union([z.string(), z.number(), z.boolean()]);
const batchMetadata = z.object({
  messageIdArray: z.array(z.coerce.string()).optional(),
  deliveryCountArray: z.array(z.coerce.number()).optional(),
  enqueuedTimeUtcArray: z.array(z.coerce.date()).optional(),
  sessionIdArray: z.array(z.string().nullable()).optional(),
  applicationPropertiesArray: z.array(z.record(z.string(), scalar).nullable()).optional(),
});

/** The host's batch as PushedMessages. Missing metadata falls back to safe values (never drops a message). */
export function toPushedMessages(messages: unknown[], context: InvocationContext): PushedMessage[] {
  const meta = batchMetadata.safeParse(context.triggerMetadata ?? {});
  const m = meta.success ? meta.data : {};
  return messages.map((body, i) => {
    const sessionId = m.sessionIdArray?.[i];
    const properties = m.applicationPropertiesArray?.[i];
    return {
      id: m.messageIdArray?.[i] ?? `${context.invocationId}:${i}`,
      body,
      deliveryCount: m.deliveryCountArray?.[i] ?? 1,
      enqueuedAt: m.enqueuedTimeUtcArray?.[i] ?? new Date(),
      ...(sessionId ? { sessionId } : {}),
      ...(properties ? { properties } : {}),
    };
  });
}

/**
 * Service Bus queue trigger. Invalid messages are recorded (Failed tasks with their reason) and the
 * batch completes; a transient failure (database down) throws, so Service Bus redelivers and
 * dead-letters after the queue's max delivery count.
 */
export async function ingestServiceBusQueue(messages: unknown[], context: InvocationContext): Promise<PushResult> {
  const s = await services();
  const queue = s.config.AzureServiceBus.QueueName ?? 'unknown';
  return ingestPushedMessages(
    s,
    toPushedMessages(messages, context),
    { provider: 'service-bus', queue },
    invocationInfo(context),
  );
}

export async function ingestServiceBusTopic(messages: unknown[], context: InvocationContext): Promise<PushResult> {
  const s = await services();
  const queue = `${s.config.AzureServiceBus.TopicName ?? 'unknown'}/Subscriptions/${s.config.AzureServiceBus.SubscriptionName ?? 'unknown'}`;
  return ingestPushedMessages(
    s,
    toPushedMessages(messages, context),
    { provider: 'service-bus', queue },
    invocationInfo(context),
  );
}

// The connection "AzureServiceBus" resolves to the app setting AzureServiceBus (a connection string) or,
// identity-based, AzureServiceBus__fullyQualifiedNamespace: the same key the code reads for RBAC.
app.serviceBusQueue('ingest-servicebus-queue', {
  connection: 'AzureServiceBus',
  queueName: '%AzureServiceBus__QueueName%',
  cardinality: 'many',
  handler: ingestServiceBusQueue,
});

app.serviceBusTopic('ingest-servicebus-topic', {
  connection: 'AzureServiceBus',
  topicName: '%AzureServiceBus__TopicName%',
  subscriptionName: '%AzureServiceBus__SubscriptionName%',
  cardinality: 'many',
  handler: ingestServiceBusTopic,
});
