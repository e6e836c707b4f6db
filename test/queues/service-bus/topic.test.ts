/** Topics with subscriptions: sends go to the topic, each subscription gets its own copy. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceBusQueueProvider } from '../../../lib/queues/service-bus/index.js';
import { startServiceBusPeer, type ServiceBusPeer } from '../../support/service-bus-peer/index.js';
import { providerOn, receiveAtLeast, uniqueName } from './helpers.js';

let peer: ServiceBusPeer;
const open: ServiceBusQueueProvider[] = [];

beforeAll(async () => {
  peer = await startServiceBusPeer({ entities: [] });
});
afterAll(async () => {
  for (const p of open) await p.close();
  await peer?.stop();
});

function topic(): { name: string; billing: ServiceBusQueueProvider; audit: ServiceBusQueueProvider } {
  const name = uniqueName('t');
  peer.addEntity({ name, kind: 'topic', subscriptions: [{ name: 'billing', maxDeliveryCount: 2 }, { name: 'audit' }] });
  const billing = providerOn(peer, { TopicName: name, SubscriptionName: 'billing' });
  const audit = providerOn(peer, { TopicName: name, SubscriptionName: 'audit' });
  open.push(billing, audit);
  return { name, billing, audit };
}

describe('Service Bus provider: topic and subscriptions', () => {
  it('names the subscription path as its queue and dead-letter queue', () => {
    const { name, billing } = topic();
    expect(billing.queueName).toBe(`${name}/Subscriptions/billing`);
    expect(billing.deadLetterQueueName).toBe(`${name}/Subscriptions/billing/$DeadLetterQueue`);
  });

  it('fans every message out to both subscriptions; settling in one leaves the other untouched', async () => {
    const { name, billing, audit } = topic();
    await billing.ensureQueues();
    const sent = await billing.sendBatch([{ body: 'order-1' }, { body: 'order-2', properties: { region: 'eu' } }]);
    expect(peer.counts(`${name}/Subscriptions/billing`).active).toBe(2);
    expect(peer.counts(`${name}/Subscriptions/audit`).active).toBe(2);

    const fromBilling = await receiveAtLeast((o) => billing.receive(o), 2);
    for (const m of fromBilling) await billing.complete(m);
    expect(peer.counts(`${name}/Subscriptions/billing`)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
    expect(peer.counts(`${name}/Subscriptions/audit`).active).toBe(2);

    const fromAudit = await receiveAtLeast((o) => audit.receive(o), 2);
    for (const m of fromAudit) await audit.complete(m);
    for (const got of [fromBilling, fromAudit]) {
      expect(got.map((m) => m.body)).toEqual(['order-1', 'order-2']);
      expect(got.map((m) => m.id)).toEqual(sent.map((s) => s.id));
      expect(got[1]!.properties).toEqual({ region: 'eu' });
    }
  });

  it('a scheduled message reaches the subscriptions only at its time, and a cancelled one never does', async () => {
    const { name, billing, audit } = topic();
    const at = new Date(Date.now() + 800);
    await billing.schedule({ body: 'scheduled' }, at);
    const cancelled = await audit.schedule({ body: 'cancelled' }, new Date(Date.now() + 60_000));
    await audit.cancelScheduled(cancelled);
    const got = await receiveAtLeast((o) => audit.receive(o), 1);
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
    expect(got.map((m) => m.body)).toEqual(['scheduled']);
    for (const m of got) await audit.complete(m);
    // The billing copy arrived at the same time; the cancelled one reached neither subscription.
    expect(peer.counts(`${name}/Subscriptions/billing`)).toEqual({ active: 1, locked: 0, deferred: 0, scheduled: 0 });
    expect(await audit.receive({ maxMessages: 5, waitMs: 300 })).toEqual([]);
  });

  it('dead-letters per subscription, including after the subscription max delivery count', async () => {
    const { name, billing, audit } = topic();
    await billing.send({ body: 'flaky' });
    for (let i = 0; i < 2; i++) await billing.abandon((await receiveAtLeast((o) => billing.receive(o), 1))[0]!);
    const [dead] = await receiveAtLeast((o) => billing.receiveDeadLetters(o), 1);
    expect(dead).toMatchObject({ body: 'flaky' });
    expect(dead!.properties?.DeadLetterReason).toBe('MaxDeliveryCountExceeded');
    await billing.completeDeadLetter(dead!);
    // The audit copy is unaffected.
    expect(peer.counts(`${name}/Subscriptions/audit`).active).toBe(1);
    expect(await audit.receiveDeadLetters({ maxMessages: 5, waitMs: 0 })).toEqual([]);
  });
});
