import { createRequire } from 'node:module';
import { app, type InvocationContext, type ServiceBusQueueFunctionOptions } from '@azure/functions';
import { z } from 'zod';
import { ingestAndSettlePushed, ingestPushedMessages } from '../../lib/app/invocations.js';
import { azureFunction, isFunctionConfigured, sessionsEnabled } from '../../lib/app/catalog.js';
import type { PushedMessage, PushResult } from '../../lib/ingest/index.js';
import { abandonPushed, type PushSettlement } from '../../lib/ingest/push.js';
import type { AppServices } from '../../lib/app/services.js';
import { invocationInfo, services } from './services.js';
import { fromSdkBinding } from './settlement.js';

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
 * Ingests one trigger batch. With the SDK binding (how these functions are registered) the messages
 * arrive locked and this app settles them: stored ones complete, refused ones go to the entity's
 * dead-letter queue with their reason, and a store failure abandons the batch and throws. A host without
 * deferred binding passes plain bodies and settles itself: refused messages then complete as Failed tasks.
 */
async function ingestBatch(
  input: unknown,
  context: InvocationContext,
  queue: (s: AppServices) => string,
): Promise<PushResult & { settlement?: PushSettlement }> {
  if (Array.isArray(input)) {
    const s = await services();
    const source = { provider: 'service-bus', queue: queue(s) };
    return ingestPushedMessages(s, toPushedMessages(input, context), source, invocationInfo(context));
  }
  const { messages, settler } = fromSdkBinding(input, context);
  let s: AppServices;
  try {
    s = await services();
  } catch (e) {
    // Nothing can be stored (the database is unreachable at cold start): give the batch back now, not at lock expiry.
    await abandonPushed(messages, settler);
    throw e;
  }
  const source = { provider: 'service-bus', queue: queue(s) };
  return ingestAndSettlePushed(s, messages, source, invocationInfo(context), settler);
}

/** Service Bus queue trigger. */
export function ingestServiceBusQueue(input: unknown, context: InvocationContext) {
  return ingestBatch(input, context, (s) => s.config.AzureServiceBus.QueueName ?? 'unknown');
}

/** Service Bus topic trigger: the subscription is the source. */
export function ingestServiceBusTopic(input: unknown, context: InvocationContext) {
  return ingestBatch(
    input,
    context,
    (s) =>
      `${s.config.AzureServiceBus.TopicName ?? 'unknown'}/Subscriptions/${s.config.AzureServiceBus.SubscriptionName ?? 'unknown'}`,
  );
}

/** The trigger follows the entity: session-enabled entities (AzureServiceBus__RequiresSession) need a session trigger. */
export const serviceBusSessions = (name: string, env: Record<string, string | undefined> = process.env) =>
  sessionsEnabled(azureFunction(name), env);

// The connection "AzureServiceBus" resolves to the app setting AzureServiceBus (a connection string) or,
// identity-based, AzureServiceBus__fullyQualifiedNamespace: the same key the code reads for RBAC.
// Registers the SDK binding's message factory (ServiceBusReceivedMessage + settlement client) with
// @azure/functions. Loaded by require: its published typings point at its TypeScript sources, which do
// not compile under this project's settings (an untyped dependency), and we use none of its types.
createRequire(import.meta.url)('@azure/functions-extensions-servicebus');

// sdkBinding + autoCompleteMessages false: the app settles each message itself (settlement.ts).
const settledByApp = { cardinality: 'many', sdkBinding: true, autoCompleteMessages: false } as const;

// Each trigger is registered only when its entity is configured (lib/app/catalog.ts): with the
// settings as shipped neither is, and `func start` runs the rest of the app.
if (isFunctionConfigured(azureFunction('ingest-servicebus-queue'), process.env)) {
  app.serviceBusQueue('ingest-servicebus-queue', {
    connection: 'AzureServiceBus',
    queueName: '%AzureServiceBus__QueueName%',
    isSessionsEnabled: serviceBusSessions('ingest-servicebus-queue'),
    ...settledByApp,
    handler: ingestServiceBusQueue,
  } satisfies ServiceBusQueueFunctionOptions);
}

if (isFunctionConfigured(azureFunction('ingest-servicebus-topic'), process.env)) {
  // The topic trigger's typings lack autoCompleteMessages, though the host reads it from the binding as for queues.
  const topicOptions = {
    connection: 'AzureServiceBus',
    topicName: '%AzureServiceBus__TopicName%',
    subscriptionName: '%AzureServiceBus__SubscriptionName%',
    isSessionsEnabled: serviceBusSessions('ingest-servicebus-topic'),
    ...settledByApp,
    handler: ingestServiceBusTopic,
  };
  app.serviceBusTopic('ingest-servicebus-topic', topicOptions);
}
