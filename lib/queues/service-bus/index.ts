export {
  ServiceBusQueueProvider,
  createServiceBusProvider,
  type ServiceBusProviderOptions,
  type ServiceBusSettings,
  type SessionAcceptOptions,
  type SubscribeOptions,
  type Subscription,
} from './provider.js';
export { ServiceBusSession } from './session.js';
export { resolveServiceBusAuth, createServiceBusClient, type ServiceBusAuth, type ServiceBusAuthSettings } from './client.js';
