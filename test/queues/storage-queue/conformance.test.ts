import { randomBytes } from 'node:crypto';
import { StorageQueueProvider } from '../../../lib/queues/storage-queue/provider.js';
import { QueueServiceClient } from '@azure/storage-queue';
import { azuriteConnectionString } from '../../support/services.js';
import { describeQueueProviderConformance } from '../conformance.js';

for (const messageEncoding of ['base64', 'text'] as const) {
  describeQueueProviderConformance(`Azure Storage Queue (Azurite, ${messageEncoding})`, async () => {
    const connectionString = await azuriteConnectionString();
    const name = `conf-${randomBytes(4).toString('hex')}`;
    const provider = new StorageQueueProvider({
      connectionString,
      queueName: name,
      messageEncoding,
      visibilityTimeoutMs: 3_000,
      maxDequeueCount: 10,
      maxPollIntervalMs: 250,
    });
    return {
      provider,
      cleanup: async () => {
        const service = QueueServiceClient.fromConnectionString(connectionString);
        await service.getQueueClient(provider.queueName).deleteIfExists();
        await service.getQueueClient(provider.deadLetterQueueName).deleteIfExists();
      },
    };
  });
}
