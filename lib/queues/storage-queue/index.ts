import type { AppConfig } from '../../config/load.js';
import type { Logger } from '../../log/logger.js';
import type { QueueProviderDefinition } from '../provider.js';
import type { RedeliveryBackoff } from '../redelivery.js';
import { StorageQueueProvider } from './provider.js';

export {
  StorageQueueProvider,
  STORAGE_RECEIVE_LIMIT,
  STORAGE_MAX_MESSAGE_BYTES,
  type StorageQueueProviderOptions,
} from './provider.js';
export { encodeStorageBody, decodeStorageBody, type StorageMessageEncoding } from './body-codec.js';

export interface CreateStorageQueueProviderOptions {
  /** Which configured queue: the ingest queue (AzureStorage:QueueName) or the dispatch queue. */
  queue?: 'ingest' | 'dispatch';
  /** Overrides the configured queue name. */
  queueName?: string;
  /** Dequeues before a message moves to the poison queue (the factory passes Ingest:MaxDeliveryCount; default 5). */
  maxDequeueCount?: number;
  visibilityTimeoutMs?: number;
  redelivery?: RedeliveryBackoff;
  logger?: Logger;
}

/** The registered provider `storage-queue` (see lib/queues/factory.ts); also the dispatch queue. */
export const queueProvider: QueueProviderDefinition<'storage-queue'> = {
  name: 'storage-queue',
  create: (settings, o) =>
    createStorageQueueProvider(settings, {
      queue: o.queue,
      ...(o.queueName ? { queueName: o.queueName } : {}),
      maxDequeueCount: o.maxDeliveryCount,
      visibilityTimeoutMs: o.visibilityTimeoutMs,
      redelivery: o.redelivery,
      ...(o.logger ? { logger: o.logger } : {}),
    }),
};

/** The Storage Queue provider configured from the AzureStorage section (poison limit: Ingest:MaxDeliveryCount). */
export function createStorageQueueProvider(
  settings: AppConfig['AzureStorage'],
  opts: CreateStorageQueueProviderOptions = {},
): StorageQueueProvider {
  const name = opts.queueName ?? (opts.queue === 'dispatch' ? settings.DispatchQueueName : settings.QueueName);
  return new StorageQueueProvider({
    connectionString: settings.ConnectionString,
    queueName: name,
    poisonSuffix: settings.PoisonQueueSuffix,
    messageEncoding: settings.MessageEncoding,
    maxPollIntervalMs: settings.MaxPollingInterval,
    ...(opts.maxDequeueCount !== undefined ? { maxDequeueCount: opts.maxDequeueCount } : {}),
    ...(opts.visibilityTimeoutMs !== undefined ? { visibilityTimeoutMs: opts.visibilityTimeoutMs } : {}),
    ...(opts.redelivery ? { redelivery: opts.redelivery } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}
