import { z } from 'zod';
import { defineSection } from '../section.js';
import { duration } from '../duration.js';
import { integer, optionalText } from '../coerce.js';
import { queueProviderNames, queueProviders } from './queue-providers.js';

/** Ingest:Provider's documentation: every registered provider, what it is and where its settings are. */
const providerDocs = Object.entries(queueProviders)
  .map(([name, p]) => `${name} (${p.description}; settings: ${p.section.name})`)
  .join(', ');

export const ingestSection = defineSection({
  name: 'Ingest',
  schema: z.object({
    Provider: z
      .enum(queueProviderNames, { message: `one of ${queueProviderNames.join(', ')}` })
      .default('storage-queue'),
    BatchSize: integer({ min: 1, max: 1000 }).default(16),
    Concurrency: integer({ min: 1, max: 1000 }).default(8),
    MessageTimeout: duration({ min: 1 }).default(300_000),
    VisibilityTimeout: duration({ min: 1000, max: 43_200_000 }).optional(),
    ReceiveWaitTime: duration({ max: 30_000 }).default(10_000),
    MaxBodyBytes: integer({ min: 256, max: 4 * 1024 * 1024 }).default(64 * 1024),
    MaxDeliveryCount: integer({ min: 1, max: 1000 }).default(5),
    RetryAttempts: integer({ min: 0, max: 20 }).default(3),
    RetryBaseDelay: duration().default(1_000),
    RetryMaxDelay: duration().default(300_000),
    DefaultTaskType: optionalText(),
    TaskTypeProperty: z.string().min(1).default('taskType'),
  }),
  secrets: [],
  docs: {
    Provider: `Queue provider the subscriber reads: ${providerDocs}.`,
    BatchSize:
      'Messages pulled per batch (providers cap one receive: MNS 16, Storage Queue 32; more receives fill the batch).',
    Concurrency: 'Messages of one batch prepared and settled at once.',
    MessageTimeout:
      'Time budget of one message\'s processing and settlement ("hh:mm:ss"; 5 minutes, as in the original .NET design).',
    VisibilityTimeout: 'How long a received message stays hidden before redelivery (default: MessageTimeout + 30s).',
    ReceiveWaitTime: 'Long-poll wait of the first receive of a pull (at most 30s, the MNS limit).',
    MaxBodyBytes:
      'Largest message body accepted (UTF-8 bytes); larger ones are dead-lettered and recorded as Failed. Also the largest task POST /api/tasks accepts (413 above).',
    MaxDeliveryCount:
      'Deliveries before a message is dead-lettered, for providers without their own setting (Storage Queue: moved to <queue>-poison). MNS uses Aliyun:MaxReceiveCount. A refused message whose dead-lettering still fails on this delivery is removed; its Failed task keeps it.',
    RetryAttempts: 'Retries of a transient failure (store write, settlement) before giving the message back.',
    RetryBaseDelay:
      'First delay of the exponential backoff between retries, and of the redelivery delay of abandoned messages.',
    RetryMaxDelay: 'Cap of the exponential backoff and of the redelivery delay.',
    DefaultTaskType: 'Task type of a bare payload (a JSON body without "type") that carries no TaskTypeProperty.',
    TaskTypeProperty: 'Message property naming the task type of a bare payload (wins over DefaultTaskType).',
  },
});
