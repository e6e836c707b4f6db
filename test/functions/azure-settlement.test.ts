/**
 * The Service Bus ingest functions with the SDK binding, invoked by a stand-in of the Functions host
 * (test/support/functions-host): messages received in peek-lock from the Service Bus peer, handed to
 * the app in a separate worker process as ModelBindingData, and settled by the app through the host's
 * settlement gRPC service. Refused messages end in their entity's dead-letter queue with their reason
 * while the good ones of the same batch complete.
 */
import { randomBytes } from 'node:crypto';
import { ServiceBusClient } from '@azure/service-bus';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import type { Task } from '../../lib/tasks/model.js';
import { startFunctionsHost, type FunctionsHost } from '../support/functions-host/index.js';
import { startServiceBusPeer, type ServiceBusPeer } from '../support/service-bus-peer/index.js';
import { azuriteConnectionString, mongoUri } from '../support/services.js';

const suffix = randomBytes(3).toString('hex');

describe('Azure Service Bus ingest with message settlement (SDK binding)', () => {
  let peer: ServiceBusPeer;
  let host: FunctionsHost;
  let sb: ServiceBusClient;
  let client: MongoClient;
  let db: Db;
  let hostEnv: Record<string, string>;
  const dbName = `azsettle_${suffix}`;

  beforeAll(async () => {
    peer = await startServiceBusPeer({
      entities: [{ name: 'orders' }, { name: 'events', kind: 'topic', subscriptions: [{ name: 'taskmesh' }] }],
    });
    const env = {
      MONGODB_URI: await mongoUri(),
      MongoDB__DatabaseName: dbName,
      AzureStorage__ConnectionString: await azuriteConnectionString(),
      AzureStorage__DispatchQueueName: `dispatch-${suffix}`,
      AzureStorage__QueueName: `ingest-${suffix}`,
      AzureServiceBus: peer.connectionString,
      AzureServiceBus__QueueName: 'orders',
      AzureServiceBus__TopicName: 'events',
      AzureServiceBus__SubscriptionName: 'taskmesh',
      Admin__ApiKey: 'unused-on-azure',
    };
    hostEnv = env;
    host = await startFunctionsHost({ env });
    sb = new ServiceBusClient(peer.connectionString);
    client = await new MongoClient(env.MONGODB_URI).connect();
    db = client.db(dbName);
  });
  afterAll(async () => {
    await host?.stop();
    await sb?.close();
    await peer?.stop();
    await db?.dropDatabase();
    await client?.close();
  });
  const tasks = () => db.collection<Task>('tasks');

  async function deadLetters(entity: string, subscription?: string) {
    const options = { subQueueType: 'deadLetter', receiveMode: 'receiveAndDelete' } as const;
    const r = subscription ? sb.createReceiver(entity, subscription, options) : sb.createReceiver(entity, options);
    const got = await r.receiveMessages(32, { maxWaitTimeInMs: 1_000 });
    await r.close();
    return got;
  }

  it('registers both triggers with the SDK binding and app-side settlement', () => {
    for (const name of ['ingest-servicebus-queue', 'ingest-servicebus-topic']) {
      const fn = host.functions.find((f) => f.name === name)!;
      const trigger = Object.values(fn.bindings).find((b) => b.type === 'serviceBusTrigger')!;
      expect(trigger).toMatchObject({
        cardinality: 'many',
        autoCompleteMessages: false,
        properties: { supportsDeferredBinding: 'true' },
      });
    }
  });

  it('queue: good messages complete, refused ones go to the queue’s dead-letter queue with reason and description', async () => {
    const sender = sb.createSender('orders');
    await sender.sendMessages([
      { messageId: 'good-1', body: { type: 'echo', payload: { n: 1 } }, contentType: 'application/json' },
      { messageId: 'bad-json', body: Buffer.from('not json {') },
      { messageId: 'good-2', body: Buffer.from(JSON.stringify({ type: 'echo', payload: { n: 2 }, priority: 5 })) },
      { messageId: 'bad-type', body: Buffer.from(JSON.stringify({ order: 42 })) },
      { messageId: 'bad-bytes', body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) },
    ]);
    await sender.close();

    const d = await host.deliver('ingest-servicebus-queue', { maxMessages: 10 });
    expect(d).toMatchObject({ delivered: 5, ok: true });
    expect(d.returnValue).toMatchObject({
      stored: 2,
      rejected: 3,
      settlement: { completed: 2, deadLettered: 3, abandoned: 0, failures: [] },
    });

    // Settled through the host's settlement service, one call per message.
    const byId = new Map(host.settlements.map((s) => [s.messageId, s]));
    expect(byId.get('good-1')?.action).toBe('complete');
    expect(byId.get('good-2')?.action).toBe('complete');
    expect(byId.get('bad-json')).toMatchObject({ action: 'deadletter', reason: 'InvalidJson' });

    const dead = await deadLetters('orders');
    expect(dead.map((m) => [m.messageId, m.deadLetterReason]).sort()).toEqual([
      ['bad-bytes', 'InvalidEncoding'],
      ['bad-json', 'InvalidJson'],
      ['bad-type', 'MissingTaskType'],
    ]);
    for (const m of dead) expect(m.deadLetterErrorDescription?.length ?? 0).toBeGreaterThan(0);
    // Nothing left in the queue, locked or waiting.
    expect(peer.counts('orders')).toMatchObject({ active: 0, locked: 0 });

    const stored = await tasks().find({ 'source.queue': 'orders' }).toArray();
    const status = Object.fromEntries(stored.map((t) => [t.source?.messageId, t.status]));
    expect(status).toEqual({
      'good-1': S.Queued,
      'good-2': S.Queued,
      'bad-json': S.Failed,
      'bad-type': S.Failed,
      'bad-bytes': S.Failed,
    });
    expect(stored.find((t) => t.source?.messageId === 'good-2')).toMatchObject({ priority: 5, payload: { n: 2 } });
  });

  it('database unreachable: the batch is abandoned through the host (redelivered), nothing dead-lettered', async () => {
    const down = await startFunctionsHost({
      env: {
        ...hostEnv,
        MONGODB_URI: 'mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=500',
        MongoDB__DatabaseName: 'nowhere',
      },
    });
    try {
      const sender = sb.createSender('orders');
      await sender.sendMessages([
        { messageId: 'later-1', body: Buffer.from(JSON.stringify({ type: 'echo', payload: 1 })) },
      ]);
      await sender.close();
      const d = await down.deliver('ingest-servicebus-queue', { maxMessages: 10 });
      expect(d).toMatchObject({ delivered: 1, ok: false });
      expect(down.settlements.map((x) => [x.messageId, x.action])).toEqual([['later-1', 'abandon']]);
      expect(peer.counts('orders')).toMatchObject({ active: 1, locked: 0 });
      expect(await deadLetters('orders')).toEqual([]);
      // The healthy app takes it on redelivery.
      expect(await host.deliver('ingest-servicebus-queue', { maxMessages: 10 })).toMatchObject({
        delivered: 1,
        ok: true,
        returnValue: { stored: 1, settlement: { completed: 1 } },
      });
    } finally {
      await down.stop();
    }
  });

  it('topic: a refused message ends in the subscription’s dead-letter queue; the good one completes', async () => {
    const sender = sb.createSender('events');
    await sender.sendMessages([
      { messageId: 'evt-good', body: Buffer.from(JSON.stringify({ type: 'echo', payload: 'topic' })) },
      { messageId: 'evt-bad', body: Buffer.from('<xml/>') },
    ]);
    await sender.close();

    const d = await host.deliver('ingest-servicebus-topic', { maxMessages: 10 });
    expect(d).toMatchObject({ delivered: 2, ok: true });
    expect(d.returnValue).toMatchObject({ stored: 1, rejected: 1, settlement: { completed: 1, deadLettered: 1 } });
    const dead = await deadLetters('events', 'taskmesh');
    expect(dead.map((m) => [m.messageId, m.deadLetterReason])).toEqual([['evt-bad', 'InvalidJson']]);
    expect(peer.counts('events/Subscriptions/taskmesh')).toMatchObject({ active: 0, locked: 0 });
    const t = await tasks().findOne({ 'source.messageId': 'evt-good' });
    expect(t).toMatchObject({ status: S.Queued, source: { queue: 'events/Subscriptions/taskmesh' } });
  });
});
