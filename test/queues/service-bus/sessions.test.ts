/** Message sessions through the provider: FIFO per session, session locks, state, and session-mode receive(). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueMessage } from '../../../lib/queues/provider.js';
import type { ServiceBusQueueProvider, ServiceBusSession } from '../../../lib/queues/service-bus/index.js';
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

function sessionQueue(lockDurationMs = 5_000): { name: string; provider: ServiceBusQueueProvider } {
  const name = uniqueName('sq');
  peer.addEntity({ name, requiresSession: true, lockDurationMs });
  const provider = providerOn(peer, { QueueName: name, RequiresSession: true });
  open.push(provider);
  return { name, provider };
}

async function accept(provider: ServiceBusQueueProvider, sessionId?: string): Promise<ServiceBusSession> {
  const session = await provider.acceptSession({ sessionId, waitMs: 5_000 });
  expect(session).toBeDefined();
  return session!;
}

describe('Service Bus provider: sessions', () => {
  it('keeps FIFO order within each session when two sessions are interleaved', async () => {
    const { provider } = sessionQueue();
    const order = ['A1', 'B1', 'A2', 'B2', 'A3', 'B3', 'A4'];
    // One batch per session change (the provider never mixes sessions in one batch), sent interleaved.
    await provider.sendBatch(order.map((body) => ({ body, sessionId: body[0] })));

    const seen = new Map<string, string[]>();
    for (let i = 0; i < 2; i++) {
      const session = await accept(provider);
      const messages = await receiveAtLeast((o) => session.receive(o), session.sessionId === 'A' ? 4 : 3);
      for (const m of messages) {
        expect(m.sessionId).toBe(session.sessionId);
        await provider.complete(m);
      }
      seen.set(
        session.sessionId,
        messages.map((m) => m.body),
      );
      await session.close();
    }
    expect(Object.fromEntries(seen)).toEqual({ A: ['A1', 'A2', 'A3', 'A4'], B: ['B1', 'B2', 'B3'] });
  });

  it('a held session cannot be accepted by another receiver until it is released', async () => {
    const { provider } = sessionQueue();
    await provider.send({ body: 'only', sessionId: 'S' });
    const held = await accept(provider, 'S');
    expect(await provider.acceptSession({ sessionId: 'S', waitMs: 0 })).toBeUndefined();
    expect(await provider.acceptSession({ waitMs: 0 })).toBeUndefined();
    await held.close();
    const again = await accept(provider, 'S');
    const [m] = await receiveAtLeast((o) => again.receive(o), 1);
    // The first holder never received it, so this is its first delivery.
    expect(m).toMatchObject({ body: 'only', deliveryCount: 1 });
    await provider.complete(m!);
    await again.close();
  });

  it('abandon inside a session redelivers the same message first; state and lock renewal work', async () => {
    const { provider } = sessionQueue();
    await provider.sendBatch([
      { body: 'first', sessionId: 'X' },
      { body: 'second', sessionId: 'X' },
    ]);
    const session = await accept(provider, 'X');
    const [first] = await session.receive({ maxMessages: 1, waitMs: 5_000 });
    await provider.abandon(first!);
    const [again] = await session.receive({ maxMessages: 1, waitMs: 5_000 });
    expect(again).toMatchObject({ body: 'first', deliveryCount: 2 });
    await provider.complete(again!);

    expect(await session.getState()).toBeUndefined();
    await session.setState('step-2');
    expect(await session.getState()).toBe('step-2');
    const before = session.lockedUntil;
    const renewed = await session.renewLock();
    expect(renewed.getTime()).toBeGreaterThanOrEqual(before.getTime());

    const [second] = await session.receive({ maxMessages: 1, waitMs: 5_000 });
    expect(second!.body).toBe('second');
    await provider.complete(second!);
    await session.close();
  });

  it('defers a session message and receives it again through its session', async () => {
    const { name, provider } = sessionQueue();
    await provider.send({ body: 'park me', sessionId: 'D' });
    const session = await accept(provider, 'D');
    const [m] = await session.receive({ maxMessages: 1, waitMs: 5_000 });
    const sequenceNumber = await provider.defer(m!);
    expect(peer.counts(name).deferred).toBe(1);
    const [back] = await session.receiveDeferred([sequenceNumber]);
    expect(back).toMatchObject({ body: 'park me', sessionId: 'D' });
    await provider.complete(back!);
    expect(peer.counts(name).deferred).toBe(0);
    await session.close();
  });

  it('with RequiresSession, receive() reads one session after the other, each in order', async () => {
    const { name, provider } = sessionQueue();
    await provider.sendBatch([
      { body: 'p1', sessionId: 'P' },
      { body: 'q1', sessionId: 'Q' },
      { body: 'p2', sessionId: 'P' },
      { body: 'q2', sessionId: 'Q' },
    ]);
    const got: QueueMessage[] = [];
    for (let i = 0; i < 10 && got.length < 4; i++) {
      const batch = await provider.receive({ maxMessages: 10, waitMs: 2_000 });
      // Each receive returns messages of a single session.
      expect(new Set(batch.map((m) => m.sessionId)).size).toBeLessThanOrEqual(1);
      for (const m of batch) await provider.complete(m);
      got.push(...batch);
    }
    const bySession = (s: string) => got.filter((m) => m.sessionId === s).map((m) => m.body);
    expect(bySession('P')).toEqual(['p1', 'p2']);
    expect(bySession('Q')).toEqual(['q1', 'q2']);
    expect(peer.counts(name)).toEqual({ active: 0, locked: 0, deferred: 0, scheduled: 0 });
    expect(await provider.receive({ maxMessages: 10, waitMs: 300 })).toEqual([]);
  });
});
