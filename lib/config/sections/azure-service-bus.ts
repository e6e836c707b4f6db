import { z } from 'zod';
import { defineSection } from '../section.js';
import { duration } from '../duration.js';
import { boolean, integer, optionalText } from '../coerce.js';

export const azureServiceBusSection = defineSection({
  name: 'AzureServiceBus',
  schema: z.object({
    ConnectionString: optionalText(),
    FullyQualifiedNamespace: optionalText(),
    QueueName: optionalText(),
    TopicName: optionalText(),
    SubscriptionName: optionalText(),
    MaxConcurrentCalls: integer({ min: 1, max: 10_000 }).default(100),
    PrefetchCount: integer({ min: 0, max: 10_000 }).default(50),
    MaxAutoLockRenewalDuration: duration().default(300_000),
    EnablePartitioning: boolean().default(true),
    MaxDeliveryCount: integer({ min: 1, max: 2000 }).default(10),
    RequiresSession: boolean().default(false),
  }),
  secrets: ['ConnectionString'],
  docs: {
    ConnectionString:
      'Service Bus connection string (SAS). Secret. When unset, FullyQualifiedNamespace with DefaultAzureCredential (managed identity) is used.',
    FullyQualifiedNamespace:
      'e.g. mynamespace.servicebus.windows.net, for role-based access without a connection string.',
    QueueName: 'Queue the subscriber reads.',
    TopicName: 'Topic the subscriber reads through SubscriptionName.',
    SubscriptionName: 'Subscription of TopicName.',
    MaxConcurrentCalls: 'Messages handled at once (host.json maxConcurrentCalls).',
    PrefetchCount: 'Messages prefetched by the receiver (host.json prefetchCount).',
    MaxAutoLockRenewalDuration: 'How long message locks are renewed automatically ("hh:mm:ss").',
    EnablePartitioning: 'Whether the queue/topic is partitioned (used by the infrastructure templates).',
    MaxDeliveryCount: 'Deliveries before Service Bus dead-letters a message (queue property).',
    RequiresSession:
      'Whether the queue/subscription is session-enabled; receive() then reads one session at a time, in FIFO order.',
  },
});
