/** Shared set-up for the Service Bus tests: the provider on the local peer, through the real SDK. */
import { randomBytes } from 'node:crypto';
import type { RetryOptions } from '@azure/service-bus';
import { azureServiceBusSection } from '../../../lib/config/sections/azure-service-bus.js';
import type { QueueMessage, ReceiveOptions } from '../../../lib/queues/provider.js';
import {
  createServiceBusProvider,
  type ServiceBusProviderOptions,
  type ServiceBusQueueProvider,
  type ServiceBusSettings,
} from '../../../lib/queues/service-bus/index.js';
import type { ServiceBusPeer } from '../../support/service-bus-peer/index.js';

/** Quick retries: the peer answers at once, and failures should surface within a test. */
export const fastRetry: RetryOptions = {
  maxRetries: 1,
  retryDelayInMs: 50,
  maxRetryDelayInMs: 200,
  timeoutInMs: 10_000,
};

/** The AzureServiceBus section as the config loader would produce it (defaults applied). */
export function serviceBusSettings(values: Record<string, unknown>): ServiceBusSettings {
  return azureServiceBusSection.schema.parse(values) as ServiceBusSettings;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** A provider on `peer` (prefetch off unless asked: most tests count what is locked where). */
export function providerOn(
  peer: ServiceBusPeer,
  values: Record<string, unknown>,
  opts: ServiceBusProviderOptions = {},
): ServiceBusQueueProvider {
  return createServiceBusProvider(
    serviceBusSettings({ ConnectionString: peer.connectionString, PrefetchCount: 0, ...values }),
    { retry: fastRetry, ...opts },
  );
}

/** Receives until `count` messages arrived or `budgetMs` is spent (a budget, not an assertion). */
export async function receiveAtLeast(
  receive: (o: ReceiveOptions) => Promise<QueueMessage[]>,
  count: number,
  budgetMs = 15_000,
): Promise<QueueMessage[]> {
  const until = Date.now() + budgetMs;
  const out: QueueMessage[] = [];
  while (out.length < count && Date.now() < until) {
    out.push(
      ...(await receive({ maxMessages: count - out.length, waitMs: Math.max(1, Math.min(5_000, until - Date.now())) })),
    );
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
