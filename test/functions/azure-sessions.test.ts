/**
 * Service Bus sessions through the Azure Functions app as the host runs it: a session-enabled queue and
 * topic (the Service Bus peer), read by the Functions host stand-in (test/support/functions-host) a
 * session at a time, each batch handed to the app's function in its worker process with the SDK binding
 * and the trigger metadata the host gives (SessionIdArray among it), settled by the app. Every message's
 * session id becomes its task's ordering key, and the processor runs each session's tasks one at a
 * time, in the order they were sent; different sessions interleave.
 */
import { randomBytes } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import { ServiceBusClient } from '@azure/service-bus';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetSharedServices } from '../../lib/app/services.js';
import { ConfigError } from '../../lib/config/errors.js';
import { createQueueProvider } from '../../lib/queues/factory.js';
import { loadConfig } from '../../lib/config/index.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { startFunctionsHost, type FunctionsHost } from '../support/functions-host/index.js';
import { startServiceBusPeer, type ServiceBusPeer } from '../support/service-bus-peer/index.js';
import { azuriteConnectionString, mongoUri } from '../support/services.js';

const suffix = randomBytes(3).toString('hex');
const ctx = (functionName: string, triggerMetadata: Record<string, unknown> = {}) =>
  new InvocationContext({ invocationId: randomBytes(8).toString('hex'), functionName, triggerMetadata });

describe('Azure Functions app on session-enabled Service Bus entities', () => {
  let peer: ServiceBusPeer;
  let host: FunctionsHost;
  let sb: ServiceBusClient;
  let client: MongoClient;
  let db: Db;
  let fns: typeof import('../../functions/azure/ingest.js') & typeof import('../../functions/azure/processor.js');

  beforeAll(async () => {
    peer = await startServiceBusPeer({
      entities: [
        { name: 'orders', requiresSession: true },
        { name: 'events', kind: 'topic', subscriptions: [{ name: 'taskmesh', requiresSession: true }] },
      ],
    });
    const env = {
      MONGODB_URI: await mongoUri(),
      MongoDB__DatabaseName: `azsess_${suffix}`,
      AzureStorage__ConnectionString: await azuriteConnectionString(),
      AzureStorage__DispatchQueueName: `dispatch-${suffix}`,
      AzureStorage__QueueName: `ingest-${suffix}`,
      AzureServiceBus: peer.connectionString,
      AzureServiceBus__QueueName: 'orders',
      AzureServiceBus__TopicName: 'events',
      AzureServiceBus__SubscriptionName: 'taskmesh',
      AzureServiceBus__RequiresSession: 'true',
      Worker__PollingInterval: '100',
      Worker__HeartbeatInterval: '200',
      Admin__ApiKey: 'unused-on-azure',
    };
    host = await startFunctionsHost({ env });
    // The processor runs in this process (its trigger is a storage queue, not under test here).
    Object.assign(process.env, env);
    fns = {
      ...(await import('../../functions/azure/ingest.js')),
      ...(await import('../../functions/azure/processor.js')),
    };
    sb = new ServiceBusClient(peer.connectionString);
    client = await new MongoClient(env.MONGODB_URI).connect();
    db = client.db(env.MongoDB__DatabaseName);
    const dispatch = await createQueueProvider(loadConfig({ env: { ...process.env } }), { queue: 'dispatch' });
    await dispatch.ensureQueues();
    await dispatch.close();
  });
  afterAll(async () => {
    await host?.stop();
    await sb?.close();
    await resetSharedServices();
    await db?.dropDatabase();
    await client?.close();
    await peer?.stop();
  });
  const tasks = () => db.collection<Task>('tasks');

  it('registers both Service Bus triggers as session triggers when the entities are session-enabled', () => {
    for (const name of ['ingest-servicebus-queue', 'ingest-servicebus-topic']) {
      const fn = host.functions.find((f) => f.name === name)!;
      const trigger = Object.values(fn.bindings).find((b) => b.type === 'serviceBusTrigger')!;
      expect(trigger, name).toMatchObject({ isSessionsEnabled: true, cardinality: 'many' });
    }
    expect(fns.serviceBusSessions('ingest-servicebus-queue', {})).toBe(false);
    const bad = { AzureServiceBus__RequiresSession: 'maybe' };
    expect(() => fns.serviceBusSessions('ingest-servicebus-topic', bad)).toThrow(ConfigError);
  });

  /** Sends `perSession` messages to each session, interleaved; then lets the host deliver them in batches of 3. */
  async function sendAndIngest(entity: string, sessions: string[], perSession: number, fn: string) {
    const sender = sb.createSender(entity);
    for (let i = 0; i < perSession; i++)
      for (const s of sessions)
        await sender.sendMessages({
          body: Buffer.from(JSON.stringify({ type: 'echo', payload: { session: s, n: i } })),
          sessionId: s,
        });
    await sender.close();
    let stored = 0;
    for (;;) {
      const d = await host.deliver(fn, { maxMessages: 3, waitMs: 500 });
      if (d.delivered === 0) break;
      expect(d.ok, d.error).toBe(true);
      stored += (d.returnValue as { stored: number }).stored;
    }
    return stored;
  }

  it('each session becomes an ordering key; its tasks run one at a time, in the order they were sent', async () => {
    const queued = await sendAndIngest('orders', ['A', 'B', 'C'], 5, 'ingest-servicebus-queue');
    const topic = await sendAndIngest('events', ['T1', 'T2'], 4, 'ingest-servicebus-topic');
    expect([queued, topic]).toEqual([15, 8]);
    expect(peer.counts('orders')).toMatchObject({ active: 0, locked: 0 });
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
