/**
 * The Azure Functions handlers, called exactly as the host calls them: the trigger's input and an
 * InvocationContext with its trigger metadata, against the real database and Azurite.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetSharedServices } from '../../lib/app/services.js';
import { createQueueProvider } from '../../lib/queues/factory.js';
import { loadConfig } from '../../lib/config/index.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import type { Task } from '../../lib/tasks/model.js';
import { azuriteConnectionString, mongoUri } from '../support/services.js';

const suffix = randomBytes(3).toString('hex');
const env = {
  MONGODB_URI: await mongoUri(),
  MongoDB__DatabaseName: `azfn_${suffix}`,
  AzureStorage__ConnectionString: await azuriteConnectionString(),
  AzureStorage__DispatchQueueName: `dispatch-${suffix}`,
  AzureStorage__QueueName: `ingest-${suffix}`,
  AzureServiceBus__QueueName: 'orders',
  AzureServiceBus__TopicName: 'events',
  AzureServiceBus__SubscriptionName: 'taskmesh',
  Worker__PollingInterval: '100',
  Worker__HeartbeatInterval: '200',
  Admin__ApiKey: 'unused-on-azure',
};
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};
const ctx = (functionName: string, triggerMetadata: Record<string, unknown> = {}) =>
  new InvocationContext({ invocationId: randomBytes(8).toString('hex'), functionName, triggerMetadata });

describe('Azure Functions app', () => {
  let client: MongoClient;
  let db: Db;
  let fns: typeof import('../../functions/azure/ingest.js') &
    typeof import('../../functions/azure/processor.js') &
    typeof import('../../functions/azure/reclaimer.js') &
    typeof import('../../functions/azure/admin.js');
  beforeAll(async () => {
    Object.assign(process.env, env);
    fns = {
      ...(await import('../../functions/azure/ingest.js')),
      ...(await import('../../functions/azure/processor.js')),
      ...(await import('../../functions/azure/reclaimer.js')),
      ...(await import('../../functions/azure/admin.js')),
    };
    await import('../../functions/azure/index.js');
    client = await new MongoClient(env.MONGODB_URI).connect();
    db = client.db(env.MongoDB__DatabaseName);
    // The queues /health looks at exist, as the infrastructure templates declare them.
    const ingestQueue = await createQueueProvider(loadConfig({ env: { ...process.env } }));
    await ingestQueue.ensureQueues();
    await ingestQueue.close();
  });
  afterAll(async () => {
    await resetSharedServices();
    await db.dropDatabase();
    await client.close();
  });
  const tasks = () => db.collection<Task>('tasks');

  it('ingest-servicebus-queue stores a batch with its trigger metadata; an invalid message is recorded and the batch completes', async () => {
    const enqueued = new Date('2026-11-27T10:00:00Z');
    const messages = [
      { type: 'echo', payload: { n: 1 } },
      'not json {',
      JSON.stringify({ type: 'echo', payload: { n: 2 }, priority: 5 }),
    ];
    const result = await fns.ingestServiceBusQueue(
      messages,
      ctx('ingest-servicebus-queue', {
        messageIdArray: ['m-1', 'm-2', 'm-3'],
        deliveryCountArray: [1, 1, 2],
        enqueuedTimeUtcArray: [enqueued.toISOString(), enqueued.toISOString(), enqueued.toISOString()],
      }),
    );
    expect(result).toMatchObject({ stored: 2, rejected: 1, duplicates: 0 });
    const stored = await tasks().find({}).sort({ priority: -1 }).toArray();
    expect(stored.map((t) => [t.source?.messageId, t.status])).toEqual([
      ['m-3', S.Queued],
      ['m-1', S.Queued],
      ['m-2', S.Failed],
    ]);
    expect(stored[0]).toMatchObject({
      source: { provider: 'service-bus', queue: 'orders' },
      priority: 5,
      payload: { n: 2 },
    });
    expect(stored[2]!.reason).toMatch(/JSON/i);
    // Redelivery of the same batch (the host abandoned after a crash) creates nothing new.
    const again = await fns.ingestServiceBusQueue(
      messages,
      ctx('ingest-servicebus-queue', {
        messageIdArray: ['m-1', 'm-2', 'm-3'],
        deliveryCountArray: [2, 2, 3],
        enqueuedTimeUtcArray: [enqueued, enqueued, enqueued],
      }),
    );
    expect(again).toMatchObject({ stored: 0, duplicates: 2, rejected: 1 });
    expect(await tasks().countDocuments({})).toBe(3);
    // One wake-up per stored batch went to the dispatch queue.
    const dispatch = await createQueueProvider(loadConfig({ env: { ...process.env } }), { queue: 'dispatch' });
    const wakeUps = await dispatch.receive({ maxMessages: 32, waitMs: 0 });
    expect(wakeUps.map((m) => JSON.parse(m.body) as { kind: string; stored: number })).toEqual([
      expect.objectContaining({ kind: 'wake', stored: 2 }),
    ]);
    for (const m of wakeUps) await dispatch.complete(m);
    await dispatch.close();
  });

  it('ingest-servicebus-topic records the subscription as the source', async () => {
    const r = await fns.ingestServiceBusTopic(
      [{ type: 'echo', payload: 'topic' }],
      ctx('ingest-servicebus-topic', {
        messageIdArray: ['t-1'],
        deliveryCountArray: [1],
        enqueuedTimeUtcArray: [new Date().toISOString()],
      }),
    );
    expect(r.stored).toBe(1);
    expect(await tasks().findOne({ 'source.messageId': 't-1' })).toMatchObject({
      source: { queue: 'events/Subscriptions/taskmesh' },
    });
  });

  it('processor-dispatch runs the queued tasks to Succeeded; the sweep finds nothing left', async () => {
    const summary = await fns.processorDispatch(
      { kind: 'wake', stored: 2 },
      ctx('processor-dispatch', { dequeueCount: 1, id: 'w-1' }),
    );
    expect(summary.outcomes.succeeded).toBe(3);
    expect(await tasks().countDocuments({ status: S.Succeeded })).toBe(3);
    expect((await tasks().findOne({ 'source.messageId': 'm-3' }))!.result).toEqual({ n: 2 });
    const sweep = await fns.processorSweep(timer, ctx('processor-sweep'));
    expect(sweep.claimed).toBe(0);
  });

  it('reclaimer reclaims a task whose worker died and records its run', async () => {
    const now = new Date();
    await tasks().insertOne({
      _id: `stale-${suffix}`,
      type: 'echo',
      payload: null,
      priority: 0,
      status: S.Running,
      version: 3,
      idempotencyKey: `stale-${suffix}`,
      attempts: 1,
      maxRetries: 3,
      nextAttemptAt: now,
      owner: { workerId: 'dead-worker', leaseToken: 'tok', acquiredAt: now },
      heartbeatAt: new Date(now.getTime() - 3_600_000),
      cancelRequested: false,
      errors: [],
      history: [],
      createdAt: now,
      updatedAt: now,
    });
    const summary = await fns.reclaimer(timer, ctx('reclaimer'));
    expect(summary.tasks).toMatchObject({ retried: 1 });
    expect(await tasks().findOne({ _id: `stale-${suffix}` })).toMatchObject({ status: S.Retrying, owner: null });
    expect(await db.collection('service_state').countDocuments({})).toBe(1);
  });

  it('admin serves the operations API (the host has checked the function key)', async () => {
    const health = await fns.admin(
      new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/health' }),
      ctx('admin'),
    );
    expect(health.status, String(health.body)).toBe(200);
    const list = await fns.admin(
      new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/tasks?status=Succeeded&limit=10' }),
      ctx('admin'),
    );
    expect(list.status).toBe(200);
    expect((JSON.parse(String(list.body)) as { items: unknown[] }).items).toHaveLength(3);
    const bad = await fns.admin(
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/api/tasks',
        body: { string: '{"type": 5}' },
        headers: { 'content-type': 'application/json' },
      }),
      ctx('admin'),
    );
    expect(bad.status).toBe(400);
    expect(bad.headers).toMatchObject({ 'content-type': expect.stringContaining('problem+json') });
  });

  it('runs a task type defined only in handlers/ (webhook), and refuses a type no handler declares at ingest and at POST /api/tasks', async () => {
    const calls: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        calls.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      const r = await fns.ingestServiceBusQueue(
        [
          { type: 'webhook', payload: { url, body: { order: 42 } } },
          { type: 'no-such-type', payload: {} },
        ],
        ctx('ingest-servicebus-queue', {
          messageIdArray: ['h-1', 'h-2'],
          deliveryCountArray: [1, 1],
          enqueuedTimeUtcArray: [new Date().toISOString(), new Date().toISOString()],
        }),
      );
      expect(r).toMatchObject({ stored: 1, rejected: 1 });
      const refused = await tasks().findOne({ 'source.messageId': 'h-2' });
      expect(refused).toMatchObject({ status: S.Failed });
      expect(refused!.reason).toMatch(/"no-such-type" has no handler; known types: .*echo.*webhook/);
      // The reclaimed task of the test before may have come due too: count only that this one ran.
      const summary = await fns.processorDispatch({ kind: 'wake', stored: 1 }, ctx('processor-dispatch'));
      expect(summary.outcomes.succeeded).toBeGreaterThanOrEqual(1);
      expect(await tasks().findOne({ 'source.messageId': 'h-1' })).toMatchObject({
        status: S.Succeeded,
        result: { status: 200, body: 'thanks' },
      });
      expect(calls).toEqual([{ order: 42 }]);
    } finally {
      server.close();
    }
    const unknown = await fns.admin(
      new HttpRequest({
        method: 'POST',
        url: 'http://localhost:7071/api/tasks',
        body: { string: '{"type": "nope"}' },
        headers: { 'content-type': 'application/json' },
      }),
      ctx('admin'),
    );
    expect(unknown.status).toBe(422);
    const problem = JSON.parse(String(unknown.body)) as { type: string; detail: string; knownTypes: string[] };
    expect(problem.type).toBe('urn:taskmesh:problem:unknown-task-type');
    expect(problem.knownTypes).toEqual(expect.arrayContaining(['echo', 'webhook']));
    expect(problem.detail).toContain('"nope"');
  });
});

describe('Azure Functions app with the database down', () => {
  it('ingest throws (so Service Bus redelivers and dead-letters after its max delivery count)', async () => {
    await resetSharedServices();
    const saved = process.env.MONGODB_URI;
    process.env.MONGODB_URI = 'mongodb://127.0.0.1:1';
    try {
      const { ingestServiceBusQueue } = await import('../../functions/azure/ingest.js');
      await expect(
        ingestServiceBusQueue(
          [{ type: 'echo' }],
          ctx('ingest-servicebus-queue', {
            messageIdArray: ['x'],
            deliveryCountArray: [1],
            enqueuedTimeUtcArray: [new Date()],
          }),
        ),
      ).rejects.toThrow();
    } finally {
      process.env.MONGODB_URI = saved;
      await resetSharedServices();
    }
  });
});
