import { z } from 'zod';
import { defineSection } from '../section.js';
import { duration } from '../duration.js';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_DEV_CONNECTION_STRING = 'UseDevelopmentStorage=true';

/** Storage queue names: 3-63 lowercase letters, digits and single dashes, starting and ending alphanumeric. */
export const storageQueueName = z.string().regex(/^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/, {
  message: 'a storage queue name (3-63 lowercase letters, digits, single dashes)',
});

export const azureStorageSection = defineSection({
  name: 'AzureStorage',
  schema: z.object({
    ConnectionString: z.string().min(1).default(AZURITE_DEV_CONNECTION_STRING),
    QueueName: storageQueueName.default('tasks'),
    DispatchQueueName: storageQueueName.default('tasks-dispatch'),
    PoisonQueueSuffix: z
      .string()
      .regex(/^[a-z0-9-]{1,20}$/, { message: 'lowercase letters, digits, dashes (1-20)' })
      .default('-poison'),
    MessageEncoding: z.enum(['base64', 'text'], { message: '"base64" or "text"' }).default('base64'),
    MaxPollingInterval: duration({ min: 10, max: 60_000 }).default(2_000),
  }),
  secrets: ['ConnectionString'],
  docs: {
    ConnectionString:
      "Storage account connection string. Secret. Default: Azurite's development account (UseDevelopmentStorage=true).",
    QueueName: 'Storage queue ingest reads (the local default ingest queue).',
    DispatchQueueName:
      'Storage queue that receives the wake-up messages that start processors on Azure: tasks became claimable (a batch stored, a retry, a release; delayed ones by visibility on send, at most 20 messages a second).',
    PoisonQueueSuffix: 'Suffix of the poison (dead-letter) queue, as the Functions host names it: <queue>-poison.',
    MessageEncoding:
      'How message text is written: base64 (what the Functions queue trigger expects by default) or text. Both are accepted on receive.',
    MaxPollingInterval:
      'Longest pause between polls while a receive waits for a message (Storage queues have no long polling).',
  },
});
