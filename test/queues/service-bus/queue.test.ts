/**
 * The Service Bus provider on a queue, through the real SDK against the local AMQP peer: peek-lock
 * settlement, dead-lettering, deferral, scheduling, batching, lock renewal, prefetch and push mode.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueProviderError, type QueueMessage } from '../../../lib/queues/provider.js';
import type { ServiceBusQueueProvider } from '../../../lib/queues/service-bus/index.js';
import {
  startServiceBusPeer,
  type PeerEntityOptions,
  type ServiceBusPeer,
} from '../../support/service-bus-peer/index.js';
import { providerOn, receiveAtLeast, sleep, uniqueName } from './helpers.js';

let peer: ServiceBusPeer;
const open: ServiceBusQueueProvider[] = [];

beforeAll(async () => {
  peer = await startServiceBusPeer({ entities: [], maxMessageSizeBytes: 16 * 1024 });
});
afterAll(async () => {
  for (const p of open) await p.close();
  await peer?.stop();
});

/** A fresh queue on the peer and a provider reading it. */
function queue(
  entity: Omit<PeerEntityOptions, 'name'> = {},
  settings: Record<string, unknown> = {},
): { name: string; provider: ServiceBusQueueProvider } {
  const name = uniqueName('q');
  peer.addEntity({ name, lockDurationMs: 5_000, ...entity });
  const provider = providerOn(peer, { QueueName: name, ...settings });
  open.push(provider);
  return { name, provider };
}

const receive = (p: ServiceBusQueueProvider) => (o: { maxMessages: number; waitMs: number }) => p.receive(o);

describe('Service Bus provider: queue', () => {
  it('sends, receives in peek-lock and completes; properties, ids and delivery count survive the trip', async () => {
    const { name, provider } = queue();
    await provider.ensureQueues();
    const sent = await provider.send({
      body: 'héllo <&> ]]>',
      properties: { kind: 'echo', n: 7, ok: true },
      messageId: 'm-1',
    });
    expect(sent.id).toBe('m-1');
    const [m] = await receiveAtLeast(receive(provider), 1);
    expect(m).toMatchObject({
      id: 'm-1',
      body: 'héllo <&> ]]>',
      deliveryCount: 1,
      properties: { kind: 'echo', n: 7, ok: true },
    });
    expect(peer.counts(name)).toMatchObject({ locked: 1, active: 0 });
    await provider.complete(m!);
    expect(peer.counts(name)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
  });

  it('abandon makes the message available again with its delivery count raised', async () => {
    const { provider } = queue();
    await provider.send({ body: 'again' });
    const [first] = await receiveAtLeast(receive(provider), 1);
    await provider.abandon(first!);
    const [second] = await receiveAtLeast(receive(provider), 1);
    expect(second).toMatchObject({ id: first!.id, body: 'again', deliveryCount: 2 });
    await provider.complete(second!);
  });

  it('dead-letters with reason and description; the dead-letter queue returns it and completeDeadLetter removes it', async () => {
    const { name, provider } = queue();
    await provider.send({ body: '{"broken":' });
    const [m] = await receiveAtLeast(receive(provider), 1);
    await provider.deadLetter(m!, 'InvalidPayload', 'Unexpected end of JSON input');
    expect(peer.counts(name).active + peer.counts(name).locked).toBe(0);

    const [dead] = await receiveAtLeast((o) => provider.receiveDeadLetters(o), 1);
    expect(dead).toMatchObject({ id: m!.id, body: '{"broken":' });
    expect(dead!.properties).toMatchObject({
      DeadLetterReason: 'InvalidPayload',
      DeadLetterErrorDescription: 'Unexpected end of JSON input',
    });
    await provider.completeDeadLetter(dead!);
    expect(peer.counts(`${name}/$DeadLetterQueue`)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
  });

  it('a message abandoned past the max delivery count ends in the dead-letter queue with MaxDeliveryCountExceeded', async () => {
    const { name, provider } = queue({ maxDeliveryCount: 3 });
    await provider.send({ body: 'poison' });
    for (let attempt = 1; attempt <= 3; attempt++) {
      const [m] = await receiveAtLeast(receive(provider), 1);
      expect(m).toMatchObject({ body: 'poison', deliveryCount: attempt });
      await provider.abandon(m!);
    }
    expect(await provider.receive({ maxMessages: 5, waitMs: 200 })).toEqual([]);
    expect(peer.counts(`${name}/$DeadLetterQueue`).active).toBe(1);
    const [dead] = await receiveAtLeast((o) => provider.receiveDeadLetters(o), 1);
    expect(dead!.body).toBe('poison');
    expect(dead!.properties?.DeadLetterReason).toBe('MaxDeliveryCountExceeded');
    await provider.completeDeadLetter(dead!);
  });

  it('a lock that expires makes the message come back; settling the stale delivery fails as MessageLockLost', async () => {
    const { name, provider: slow } = queue({ lockDurationMs: 1_000 }, { MaxAutoLockRenewalDuration: 0 });
    // The second consumer renews its locks, so its delivery stays valid however slow this machine is.
    const fast = providerOn(peer, { QueueName: name, MaxAutoLockRenewalDuration: '00:01:00' });
    open.push(fast);
    await slow.send({ body: 'slow consumer' });
    const [stale] = await receiveAtLeast(receive(slow), 1);
    const [again] = await receiveAtLeast(receive(fast), 1);
    expect(again).toMatchObject({ id: stale!.id, deliveryCount: 2 });
    const err = await slow.complete(stale!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueProviderError);
    expect((err as QueueProviderError).details).toMatchObject({
      provider: 'service-bus',
      operation: 'complete',
      code: 'MessageLockLost',
      transient: false,
    });
    await fast.complete(again!);
    expect(peer.counts(name)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
  });

  it('a deferred message is skipped by receive and fetched later by its sequence number', async () => {
    const { name, provider } = queue();
    await provider.send({ body: 'not yet', messageId: 'deferred-1' });
    const [m] = await receiveAtLeast(receive(provider), 1);
    const sequenceNumber = await provider.defer(m!);
    expect(typeof sequenceNumber).toBe('bigint');
    expect(peer.counts(name).deferred).toBe(1);
    expect(await provider.receive({ maxMessages: 5, waitMs: 200 })).toEqual([]);

    const [later] = await provider.receiveDeferred([sequenceNumber]);
    expect(later).toMatchObject({ id: 'deferred-1', body: 'not yet' });
    await provider.complete(later!);
    expect(peer.counts(name)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
  });

  // Time-based outcomes are checked against the clock at receipt (never received before its time), not
  // with an early receive that a stalled machine could turn into a late one.
  it('a scheduled message is not delivered before its time, and is after', async () => {
    const { name, provider } = queue();
    const at = new Date(Date.now() + 1_000);
    const near = await provider.schedule({ body: 'on time' }, at);
    const far = await provider.schedule({ body: 'next hour' }, new Date(Date.now() + 3_600_000));
    expect(near > 0n && far > near).toBe(true);
    expect(peer.counts(name).scheduled + peer.counts(name).active).toBe(2);
    const got = await receiveAtLeast(receive(provider), 1);
    const receivedAt = Date.now();
    expect(got.map((m) => m.body)).toEqual(['on time']);
    expect(receivedAt).toBeGreaterThanOrEqual(at.getTime());
    expect(got[0]!.deliveryCount).toBe(1);
    await provider.complete(got[0]!);
    expect(await provider.receive({ maxMessages: 5, waitMs: 0 })).toEqual([]);
    expect(peer.counts(name).scheduled).toBe(1);
  });

  it('send with delayMs is held back the same way', async () => {
    const { provider } = queue();
    const sentAt = Date.now();
    await provider.send({ body: 'delayed', delayMs: 1_000 });
    await provider.send({ body: 'now' });
    const arrivals: Array<[string, number]> = [];
    await receiveAtLeast(async (o) => {
      const got = await provider.receive(o);
      for (const m of got) arrivals.push([m.body, Date.now()]);
      return got;
    }, 2);
    expect(arrivals.map(([body]) => body)).toEqual(['now', 'delayed']);
    expect(arrivals[1]![1]).toBeGreaterThanOrEqual(sentAt + 1_000);
  });

  it('a cancelled scheduled message is never delivered', async () => {
    const { name, provider } = queue();
    const keep = await provider.schedule({ body: 'keep' }, new Date(Date.now() + 300));
    const drop = await provider.schedule({ body: 'drop' }, new Date(Date.now() + 60_000));
    expect(keep).not.toBe(drop);
    await provider.cancelScheduled(drop);
    const [m] = await receiveAtLeast(receive(provider), 1);
    expect(m!.body).toBe('keep');
    await provider.complete(m!);
    expect(peer.counts(name)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
    expect(await provider.receive({ maxMessages: 5, waitMs: 300 })).toEqual([]);
  });

  it('abandon with a delay hides the message until then and keeps counting deliveries', async () => {
    const { provider } = queue();
    const sent = await provider.send({ body: 'back off' });
    const [m] = await receiveAtLeast(receive(provider), 1);
    const abandonedAt = Date.now();
    await provider.abandon(m!, 1_000);
    const [back] = await receiveAtLeast(receive(provider), 1);
    expect(Date.now()).toBeGreaterThanOrEqual(abandonedAt + 1_000);
    expect(back).toMatchObject({ id: sent.id, body: 'back off', deliveryCount: 2 });
    expect(back!.properties).toBeUndefined(); // the carried delivery count is not an application property
    await provider.complete(back!);
  });

  it('sendBatch splits a batch larger than one transfer into several and delivers every message in order', async () => {
    const { provider } = queue();
    const before = { ...peer.stats };
    const bodies = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(2, '0')}:${'x'.repeat(2_000)}`);
    const results = await provider.sendBatch(bodies.map((body) => ({ body })));
    expect(results).toHaveLength(30);
    // 30 x ~2 KB against the peer's 16 KiB max message size: at least four batched transfers.
    expect(peer.stats.batchTransfers - before.batchTransfers).toBeGreaterThanOrEqual(4);
    expect(peer.stats.batchedMessages - before.batchedMessages).toBe(30);
    expect(peer.stats.singleTransfers - before.singleTransfers).toBe(0);
    const got = await receiveAtLeast(receive(provider), 30);
    expect(got.map((m) => m.body)).toEqual(bodies);
    expect(got.map((m) => m.id)).toEqual(results.map((r) => r.id));
  });

  it('a message too large for any batch fails sendBatch before anything is sent', async () => {
    const { name, provider } = queue();
    const err = await provider.sendBatch([{ body: 'small' }, { body: 'y'.repeat(20_000) }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueProviderError);
    expect((err as QueueProviderError).details).toMatchObject({ code: 'MessageSizeExceeded', transient: false });
    expect(peer.counts(name).active).toBe(0);
  });

  it('renewLock keeps a message past its original lock expiry; complete then succeeds', async () => {
    const { name, provider } = queue({ lockDurationMs: 2_000 }, { MaxAutoLockRenewalDuration: 0 });
    await provider.send({ body: 'long job' });
    const [m] = await receiveAtLeast(receive(provider), 1);
    const firstExpiry = await provider.renewLock(m!);
    let latest = firstExpiry;
    for (let i = 0; i < 3; i++) {
      await sleep(800);
      latest = await provider.renewLock(m!);
    }
    expect(latest.getTime()).toBeGreaterThan(firstExpiry.getTime());
    await provider.complete(m!);
    expect(peer.counts(name)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
  });

  it('locks are renewed automatically up to MaxAutoLockRenewalDuration', async () => {
    const { name, provider } = queue({ lockDurationMs: 2_000 }, { MaxAutoLockRenewalDuration: '00:00:30' });
    await provider.send({ body: 'auto renewed' });
    const [m] = await receiveAtLeast(receive(provider), 1);
    await sleep(4_500); // more than two lock durations
    expect(peer.counts(name)).toMatchObject({ locked: 1, active: 0 });
    await provider.complete(m!);
    expect(peer.counts(name).locked).toBe(0);
  });

  it('PrefetchCount keeps surplus messages locked locally and hands them out first; close() gives them back', async () => {
    const { name, provider } = queue({}, { PrefetchCount: 4 });
    await provider.sendBatch(['a', 'b', 'c', 'd', 'e', 'f'].map((body) => ({ body })));
    const first = await provider.receive({ maxMessages: 1, waitMs: 5_000 });
    expect(first.map((m) => m.body)).toEqual(['a']);
    // One handed out, four more prefetched: five locked on the broker.
    expect(peer.counts(name)).toMatchObject({ locked: 5, active: 1 });
    const next = await provider.receive({ maxMessages: 2, waitMs: 0 });
    expect(next.map((m) => m.body)).toEqual(['b', 'c']);
    for (const m of [...first, ...next]) await provider.complete(m);
    await provider.close();
    // The prefetched ones not handed out (and what the top-up fetched) are back on the queue.
    expect(peer.counts(name)).toMatchObject({ locked: 0, active: 3 });
  });

  it('subscribe honours MaxConcurrentCalls, completes handled messages and abandons failed ones', async () => {
    const { name, provider } = queue({}, { MaxConcurrentCalls: 2 });
    await provider.sendBatch(['1', '2', '3', '4', '5', '6'].map((body) => ({ body })));
    let inFlight = 0;
    let maxInFlight = 0;
    const handled: string[] = [];
    const retried: QueueMessage[] = [];
    let failedOnce = false;
    const subscription = provider.subscribe(async (m) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      // Hold each call until a second one is running (or a budget passes), so concurrency shows.
      for (let i = 0; i < 100 && inFlight < 2 && handled.length < 5; i++) await sleep(20);
      inFlight--;
      if (m.body === '3' && !failedOnce) {
        failedOnce = true;
        throw new Error('transient handler failure');
      }
      if (m.body === '3') retried.push(m);
      handled.push(m.body);
    });
    // Wait (within a budget) until every message has been handled and completed on the broker.
    for (let i = 0; i < 500 && (handled.length < 6 || peer.counts(name).locked + peer.counts(name).active > 0); i++)
      await sleep(20);
    await subscription.close();
    expect(maxInFlight).toBe(2);
    expect([...handled].sort()).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(retried.map((m) => m.deliveryCount)).toEqual([2]);
    expect(peer.counts(name)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
  });

  it('health counts active, scheduled and dead-lettered messages by peeking', async () => {
    const { provider } = queue();
    const empty = await provider.health();
    expect(empty).toMatchObject({ provider: 'service-bus', reachable: true, depth: 0, delayed: 0, deadLetterDepth: 0 });
    await provider.sendBatch([{ body: 'one' }, { body: 'two' }, { body: 'dead' }]);
    await provider.schedule({ body: 'later' }, new Date(Date.now() + 60_000));
    const got = await receiveAtLeast(receive(provider), 3);
    await provider.deadLetter(
      got.find((m) => m.body === 'dead')!,
      'Test',
    );
    for (const m of got.filter((x) => x.body !== 'dead')) await provider.abandon(m);
    const health = await provider.health();
    expect(health).toMatchObject({ reachable: true, depth: 2, delayed: 1, deadLetterDepth: 1 });
    expect(health.oldestMessageAgeMs).toBeGreaterThanOrEqual(0);
    expect(health.error).toBeUndefined();
  });

  it('ensureQueues (no management endpoint) checks the entity answers; a missing one is MessagingEntityNotFound', async () => {
    const missing = providerOn(peer, { QueueName: 'no-such-queue' });
    open.push(missing);
    const err = await missing.ensureQueues().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueProviderError);
    expect((err as QueueProviderError).details).toMatchObject({
      operation: 'ensureQueues',
      code: 'MessagingEntityNotFound',
      transient: false,
    });
    const health = await missing.health();
    expect(health).toMatchObject({ reachable: false, queue: 'no-such-queue' });
    expect(health.error).toMatch(/no-such-queue/);
  });

  it('operations after close() fail with a typed error', async () => {
    const { provider } = queue();
    await provider.close();
    await provider.close(); // harmless twice
    const err = await provider.send({ body: 'late' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueProviderError);
    expect((err as QueueProviderError).details).toMatchObject({ code: 'Closed', transient: false });
  });
});
