/** The shared QueueProvider conformance suite, for the Service Bus provider on the local AMQP peer. */
import { afterAll, beforeAll } from 'vitest';
import { startServiceBusPeer, type ServiceBusPeer } from '../../support/service-bus-peer/index.js';
import { describeQueueProviderConformance } from '../conformance.js';
import { providerOn, uniqueName } from './helpers.js';

let peer: ServiceBusPeer;

beforeAll(async () => {
  peer = await startServiceBusPeer({ entities: [] });
});
afterAll(async () => {
  await peer?.stop();
});

describeQueueProviderConformance('Azure Service Bus (local AMQP peer)', async () => {
  const name = uniqueName('conf');
  peer.addEntity({ name, lockDurationMs: 3_000, maxDeliveryCount: 10 });
  // Production-like settings: prefetch on (the default 50), locks auto-renewed.
  const provider = providerOn(peer, { QueueName: name, PrefetchCount: 50, MaxDeliveryCount: 10 });
  return { provider, cleanup: async () => undefined };
});
