/**
 * Chooses and configures the queue provider from the settings (Ingest:Provider).
 *
 * Provider modules are imported on demand: a Function Compute deployment reading MNS never loads the
 * Azure SDKs, and the other way round (cold starts).
 */
import type { AppConfig } from '../config/load.js';
import type { IngestProviderKind } from '../config/sections/ingest.js';
import type { Logger } from '../log/logger.js';
import type { CreateMnsProviderOptions } from './mns/index.js';
import type { QueueProvider } from './provider.js';
import type { RedeliveryBackoff } from './redelivery.js';
import type { ServiceBusProviderOptions } from './service-bus/index.js';

/** The configured provider's module could not be loaded (not installed or not built into this deployment). */
export class QueueProviderUnavailableError extends Error {
  constructor(readonly provider: string, options?: { cause?: unknown }) {
    super(`queue provider "${provider}" (Ingest:Provider) is not available in this build: ${options?.cause instanceof Error ? options.cause.message : 'its module could not be loaded'}`, options);
    this.name = 'QueueProviderUnavailableError';
  }
}

export interface CreateQueueProviderOptions {
  /** The ingest queue (default), or the dispatch queue that wakes processors (always a Storage queue). */
  queue?: 'ingest' | 'dispatch';
  /** Overrides Ingest:Provider. */
  provider?: IngestProviderKind;
  logger?: Logger;
  /** MNS extras: Function Compute credentials, a refresh callback. */
  mns?: Omit<CreateMnsProviderOptions, 'logger' | 'visibilityTimeoutMs' | 'redelivery'>;
  /** Service Bus extras: a token credential, retry options. */
  serviceBus?: Omit<ServiceBusProviderOptions, 'logger'>;
}

/** Visibility of received messages: Ingest:VisibilityTimeout, else the message time limit plus a margin. */
export function ingestVisibilityTimeoutMs(ingest: AppConfig['Ingest']): number {
  return ingest.VisibilityTimeout ?? ingest.MessageTimeout + 30_000;
}

export async function createQueueProvider(
  config: Pick<AppConfig, 'Ingest' | 'Aliyun' | 'AzureStorage' | 'AzureServiceBus'>,
  opts: CreateQueueProviderOptions = {},
): Promise<QueueProvider> {
  const kind: IngestProviderKind = opts.queue === 'dispatch' ? 'storage-queue' : (opts.provider ?? config.Ingest.Provider);
  const redelivery: RedeliveryBackoff = { baseMs: config.Ingest.RetryBaseDelay, capMs: config.Ingest.RetryMaxDelay };
  const visibilityTimeoutMs = ingestVisibilityTimeoutMs(config.Ingest);
  const logger = opts.logger ? { logger: opts.logger } : {};
  switch (kind) {
    case 'storage-queue': {
      const m = await load('storage-queue', () => import('./storage-queue/index.js'));
      return m.createStorageQueueProvider(config.AzureStorage, {
        queue: opts.queue ?? 'ingest',
        maxDequeueCount: config.Ingest.MaxDeliveryCount,
        visibilityTimeoutMs,
        redelivery,
        ...logger,
      });
    }
    case 'mns': {
      const m = await load('mns', () => import('./mns/index.js'));
      return m.createMnsProvider(config.Aliyun, { ...opts.mns, visibilityTimeoutMs, redelivery, ...logger });
    }
    case 'service-bus': {
      const m = await load('service-bus', () => import('./service-bus/index.js'));
      return m.createServiceBusProvider(config.AzureServiceBus, { ...opts.serviceBus, ...logger });
    }
  }
}

async function load<T>(provider: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer();
  } catch (e) {
    throw new QueueProviderUnavailableError(provider, { cause: e });
  }
}
