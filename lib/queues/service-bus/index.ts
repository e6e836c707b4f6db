import type { QueueProviderDefinition } from '../provider.js';
import { createServiceBusProvider } from './create.js';

export { ServiceBusQueueProvider } from './provider.js';
export { createServiceBusProvider, type ServiceBusProviderOptions } from './create.js';
export type { ServiceBusSettings } from './entities.js';
export type { SessionAcceptOptions } from './session-reader.js';
export type { SubscribeOptions, Subscription } from './subscribe.js';
export { ServiceBusSession } from './session.js';
export {
  resolveServiceBusAuth,
  createServiceBusClient,
  type ServiceBusAuth,
  type ServiceBusAuthSettings,
} from './client.js';

/** The registered provider `service-bus` (see lib/queues/factory.ts). */
export const queueProvider: QueueProviderDefinition<'service-bus'> = {
  name: 'service-bus',
  create: (settings, o) =>
    createServiceBusProvider(
      // Another queue of the namespace: that queue, not the configured queue or topic subscription.
      o.queueName
        ? { ...settings, QueueName: o.queueName, TopicName: undefined, SubscriptionName: undefined }
        : settings,
      { ...o.extras, ...(o.logger ? { logger: o.logger } : {}) },
    ),
};

declare module '../provider.js' {
  interface QueueProviderExtras {
    /** A token credential, retry options, ... (see ServiceBusProviderOptions). */
    'service-bus'?: Omit<import('./create.js').ServiceBusProviderOptions, 'logger'>;
  }
}
