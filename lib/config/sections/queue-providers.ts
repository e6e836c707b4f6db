import type { z } from 'zod';
import { aliyunSection } from './aliyun.js';
import { azureServiceBusSection } from './azure-service-bus.js';
import { azureStorageSection } from './azure-storage.js';

/**
 * The queue providers, registered here and nowhere else: each name (a value of Ingest:Provider) with
 * the configuration section holding its settings and a line saying what it is. A provider's code is
 * the folder of the same name, lib/queues/<name>/, loaded only when the provider is used (see
 * lib/queues/factory.ts); docs/adding-a-queue-provider.md walks through adding one.
 *
 * The list lives here, below lib/queues, because the configuration loader must know every section
 * and the values Ingest:Provider accepts, and lib/config imports nothing from the code it configures.
 */
export const queueProviders = {
  'storage-queue': { section: azureStorageSection, description: 'Azure Storage queues, the local default on Azurite' },
  mns: { section: aliyunSection, description: 'Alibaba Cloud MNS' },
  'service-bus': { section: azureServiceBusSection, description: 'Azure Service Bus queues and topic subscriptions' },
} as const;

export type QueueProviderName = keyof typeof queueProviders;
type Registered = typeof queueProviders;

export const queueProviderNames = Object.keys(queueProviders) as [QueueProviderName, ...QueueProviderName[]];

/** The section holding a provider's settings, by provider name. */
export type QueueProviderSection<N extends QueueProviderName> = Registered[N]['section'];
/** A provider's settings, as loaded (e.g. `QueueProviderSettings<'mns'>` is `AppConfig['Aliyun']`). */
export type QueueProviderSettings<N extends QueueProviderName> = z.output<QueueProviderSection<N>['schema']>;
/** The name of a provider's section, e.g. 'Aliyun' for 'mns'. */
export type QueueProviderSectionName<N extends QueueProviderName = QueueProviderName> = QueueProviderSection<N>['name'];

/** The providers' sections keyed by section name, as the configuration holds them. */
export type QueueProviderSections = {
  [N in QueueProviderName as QueueProviderSectionName<N>]: QueueProviderSection<N>;
};

export const queueProviderSections = Object.fromEntries(
  Object.values(queueProviders).map((p) => [p.section.name, p.section]),
) as QueueProviderSections;
