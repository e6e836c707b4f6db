/**
 * Service Bus sessions through the Azure Functions handlers: a session-enabled queue and topic (the
 * Service Bus peer), read a session at a time as the host's session trigger reads them, each batch handed
 * to the handler with the trigger metadata the host gives (sessionIdArray among it). Every message's
 * session id becomes its task's ordering key, and the processor runs each session's tasks one at a time,
 * in the order they were sent; different sessions interleave.
 */
import { randomBytes } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetSharedServices } from '../../lib/app/services.js';
import { ConfigError } from '../../lib/config/errors.js';
import { createQueueProvider } from '../../lib/queues/factory.js';
import { loadConfig } from '../../lib/config/index.js';
import type { ServiceBusQueueProvider } from '../../lib/queues/service-bus/index.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { startServiceBusPeer, type ServiceBusPeer } from '../support/service-bus-peer/index.js';
import { azuriteConnectionString, mongoUri } from '../support/services.js';
import { providerOn } from '../queues/service-bus/helpers.js';

const suffix = randomBytes(3).toString('hex');
let peer: ServiceBusPeer;
const ctx = (functionName: string, triggerMetadata: Record<string, unknown> = {}) =>
  new InvocationContext({ invocationId: randomBytes(8).toString('hex'), functionName, triggerMetadata });

describe('Azure Functions app on session-enabled Service Bus entities', () => {
  let client: MongoClient;
  let db: Db;
  let fns: typeof import('../../functions/azure/ingest.js') & typeof import('../../functions/azure/processor.js');
  const providers: ServiceBusQueueProvider[] = [];

  beforeAll(async () => {
    peer = await startServiceBusPeer({
      entities: [
        { name: 'orders', requiresSession: true },
        { name: 'events', kind: 'topic', subscriptions: [{ name: 'taskmesh', requiresSession: true }] },
      ],
    });
    Object.assign(process.env, {
      MONGODB_URI: await mongoUri(),
      MongoDB__DatabaseName: `azsess_${suffix}`,
      AzureStorage__ConnectionString: await azuriteConnectionString(),
      AzureStorage__DispatchQueueName: `dispatch-${suffix}`,
      AzureStorage__QueueName: `ingest-${suffix}`,
      AzureServiceBus__QueueName: 'orders',
      AzureServiceBus__TopicName: 'events',
      AzureServiceBus__SubscriptionName: 'taskmesh',
      AzureServiceBus__RequiresSession: 'true',
      Worker__PollingInterval: '100',
      Worker__HeartbeatInterval: '200',
      Admin__ApiKey: 'unused-on-azure',
    });
    fns = {
      ...(await import('../../functions/azure/ingest.js')),
      ...(await import('../../functions/azure/processor.js')),
    };
    client = await new MongoClient(process.env.MONGODB_URI!).connect();
    db = client.db(process.env.MongoDB__DatabaseName);
    const dispatch = await createQueueProvider(loadConfig({ env: { ...process.env } }), { queue: 'dispatch' });
    await dispatch.ensureQueues();
    await dispatch.close();
  });
  afterAll(async () => {
    for (const p of providers) await p.close();
    await resetSharedServices();
    await db?.dropDatabase();
    await client?.close();
    await peer?.stop();
  });
  const tasks = () => db.collection<Task>('tasks');

  it('registers both Service Bus triggers as session triggers when the entities are session-enabled', () => {
    expect(fns.serviceBusSessions('ingest-servicebus-queue')).toBe(true);
    expect(fns.serviceBusSessions('ingest-servicebus-topic')).toBe(true);
    expect(fns.serviceBusSessions('ingest-servicebus-queue', {})).toBe(false);
    expect(() =>
      fns.serviceBusSessions('ingest-servicebus-topic', { AzureServiceBus__RequiresSession: 'maybe' }),
    ).toThrow(ConfigError);
  });

  /** Sends `perSession` messages to each session, interleaved; then plays the host's session trigger. */
  async function sendAndIngest(
    values: Record<string, unknown>,
    sessions: string[],
    perSession: number,
    handler: typeof fns.ingestServiceBusQueue,
    functionName: string,
  ): Promise<number> {
    const provider = providerOn(peer, { RequiresSession: true, ...values });
    providers.push(provider);
    for (let i = 0; i < perSession; i++)
      for (const s of sessions)
        await provider.send({ body: JSON.stringify({ type: 'echo', payload: { session: s, n: i } }), sessionId: s });
    let stored = 0;
    for (;;) {
      const session = await provider.acceptSession({ waitMs: 500 });
      if (!session) break;
      for (;;) {
        // Batches of 3: a session spans several invocations, as with the host's maxMessageBatchSize.
        const batch = await session.receive({ maxMessages: 3, waitMs: 200 });
        if (batch.length === 0) break;
        const result = await handler(
          batch.map((m) => m.body),
          ctx(functionName, {
            messageIdArray: batch.map((m) => m.id),
            deliveryCountArray: batch.map((m) => m.deliveryCount),
            enqueuedTimeUtcArray: batch.map((m) => m.enqueuedAt.toISOString()),
            sessionIdArray: batch.map((m) => m.sessionId ?? null),
          }),
        );
        stored += result.stored;
        for (const m of batch) await provider.complete(m);
      }
      await session.close();
    }
    return stored;
  }

  it('each session becomes an ordering key; its tasks run one at a time, in the order they were sent', async () => {
    const queued = await sendAndIngest(
      { QueueName: 'orders' },
      ['A', 'B', 'C'],
      5,
      fns.ingestServiceBusQueue,
      'ingest-servicebus-queue',
    );
    const topic = await sendAndIngest(
      { TopicName: 'events', SubscriptionName: 'taskmesh' },
      ['T1', 'T2'],
      4,
      fns.ingestServiceBusTopic,
      'ingest-servicebus-topic',
    );
    expect([queued, topic]).toEqual([15, 8]);
    const stored = await tasks().find({}).toArray();
    expect(new Set(stored.map((t) => t.orderingKey))).toEqual(new Set(['A', 'B', 'C', 'T1', 'T2']));
    // Only each key's head is due; the rest wait their turn.
    expect(stored.filter((t) => !t.held).map((t) => (t.payload as { n: number }).n)).toEqual([0, 0, 0, 0, 0]);

    for (let i = 0; i < 60 && (await tasks().countDocuments({ status: S.Succeeded })) < 23; i++)
      await fns.processorDispatch({ kind: 'wake' }, ctx('processor-dispatch', { dequeueCount: 1, id: `w-${i}` }));
    const done = await tasks().find({}).sort({ orderingSeq: 1 }).toArray();
    expect(done.every((t) => t.status === S.Succeeded)).toBe(true);
    for (const key of ['A', 'B', 'C', 'T1', 'T2']) {
      const runs = done.filter((t) => t.orderingKey === key);
      expect(runs.map((t) => (t.payload as { n: number }).n)).toEqual([...runs.keys()]);
      for (let i = 1; i < runs.length; i++)
        expect(runs[i]!.startedAt!.getTime(), `${key}: task ${i} started before ${i - 1} ended`).toBeGreaterThanOrEqual(
          runs[i - 1]!.finishedAt!.getTime(),
        );
    }
  });
});
