/**
 * The operations API on Azure Functions as on `npm start`: the admin function, invoked as the host
 * invokes it, is built with the queue providers (Service Bus ingest on the AMQP peer, the dispatch
 * Storage queue on Azurite): GET /api/queues with depth and dead-letter depth, dead-letter replay,
 * POST /api/messages; and the instance observes the queue gauges and the task backlog gauge.
 */
import { randomBytes } from 'node:crypto';
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetSharedHostQueues } from '../../lib/app/host-queues.js';
import { resetSharedServices } from '../../lib/app/services.js';
import { loadConfig } from '../../lib/config/index.js';
import { createQueueProvider } from '../../lib/queues/factory.js';
import { metricNames, useMeterProvider } from '../../lib/telemetry/metrics.js';
import { serveInvocations, taskctl } from '../support/host-http.js';
import { startServiceBusPeer, type ServiceBusPeer } from '../support/service-bus-peer/index.js';
import { azuriteConnectionString, mongoUri } from '../support/services.js';

const suffix = randomBytes(3).toString('hex');
const ctx = (functionName: string) =>
  new InvocationContext({ invocationId: randomBytes(8).toString('hex'), functionName, triggerMetadata: {} });
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

interface QueueItem {
  provider: string;
  queue: string;
  reachable: boolean;
  depth: number | null;
  deadLetterDepth: number | null;
}

describe('Azure Functions: the same operations as npm start (Service Bus peer)', () => {
  let peer: ServiceBusPeer;
  let fns: typeof import('../../functions/azure/admin.js') & typeof import('../../functions/azure/reclaimer.js');
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meters = new MeterProvider({ readers: [reader] });
  const queueName = `orders-${suffix}`;

  beforeAll(async () => {
    peer = await startServiceBusPeer({ entities: [{ name: queueName, maxDeliveryCount: 10 }] });
    useMeterProvider(meters);
    Object.assign(process.env, {
      MONGODB_URI: await mongoUri(),
      MongoDB__DatabaseName: `azops_${suffix}`,
      AzureStorage__ConnectionString: await azuriteConnectionString(),
      AzureStorage__DispatchQueueName: `dispatch-${suffix}`,
      Ingest__Provider: 'service-bus',
      AzureServiceBus__ConnectionString: peer.connectionString,
      AzureServiceBus__QueueName: queueName,
      Admin__ApiKey: '',
    });
    fns = {
      ...(await import('../../functions/azure/admin.js')),
      ...(await import('../../functions/azure/reclaimer.js')),
    };
    const dispatch = await createQueueProvider(loadConfig({ env: { ...process.env } }), { queue: 'dispatch' });
    await dispatch.ensureQueues();
    await dispatch.close();
  });
  afterAll(async () => {
    useMeterProvider(undefined);
    await resetSharedHostQueues();
    await resetSharedServices();
    const client = await new MongoClient(await mongoUri()).connect();
    await client.db(`azops_${suffix}`).dropDatabase();
    await client.close();
    await peer.stop();
    await meters.shutdown();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fns.admin(
      new HttpRequest({
        method,
        url: `http://localhost:7071/api${path}`,
        ...(body !== undefined
          ? { body: { string: JSON.stringify(body) }, headers: { 'content-type': 'application/json' } }
          : {}),
      }),
      ctx('admin'),
    );
    return { status: res.status, json: JSON.parse(String(res.body)) as unknown };
  };
  const queues = async () => ((await call('GET', '/queues')).json as { items: QueueItem[] }).items;

  it('POST /api/messages sends to the Service Bus ingest queue', async () => {
    const sent = await call('POST', '/messages', { body: { type: 'echo', payload: { n: 1 } } });
    expect(sent.status).toBe(202);
    expect(sent.json).toMatchObject({ messageId: expect.any(String) });
    expect(peer.counts(queueName).active).toBe(1);
  });

  it('GET /api/queues lists the Service Bus queue and the dispatch queue with depth and dead-letter depth', async () => {
    const items = await queues();
    expect(items.map((q) => [q.provider, q.queue])).toEqual([
      ['service-bus', queueName],
      ['storage-queue', `dispatch-${suffix}`],
    ]);
    expect(items[0]).toMatchObject({ reachable: true, depth: 1, deadLetterDepth: 0 });
  });

  it('replays the dead letters of the Service Bus queue', async () => {
    // Service Bus dead-letters a message (as after its max delivery count).
    const provider = await createQueueProvider(loadConfig({ env: { ...process.env } }));
    const [m] = await provider.receive({ maxMessages: 1, waitMs: 5_000 });
    await provider.deadLetter(m!, 'MaxDeliveryCountExceeded', 'test');
    await provider.close();
    expect((await queues())[0]).toMatchObject({ depth: 0, deadLetterDepth: 1 });

    const replay = await call('POST', `/queues/${queueName}/dead-letters/replay`);
    expect(replay.status).toBe(200);
    expect(replay.json).toMatchObject({ replayed: 1, failed: 0 });
    expect((await queues())[0]).toMatchObject({ depth: 1, deadLetterDepth: 0 });
  });

  it('observes the queue gauges and the task backlog gauge where the API and the timers run', async () => {
    expect((await call('POST', '/tasks', { type: 'echo', payload: 1 })).status).toBe(201);
    await fns.reclaimer(timer, ctx('reclaimer'));
    exporter.reset();
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    const point = (name: string, queue: string) =>
      metrics.find((m) => m.descriptor.name === name)?.dataPoints.find((p) => p.attributes['queue.name'] === queue)
        ?.value;
    expect(point(metricNames.queueDepth, queueName)).toBe(1);
    expect(point(metricNames.deadLetterDepth, queueName)).toBe(0);
    expect(point(metricNames.queueReachable, queueName)).toBe(1);
    expect(point(metricNames.queueReachable, `dispatch-${suffix}`)).toBe(1);
    const backlog = metrics.find((m) => m.descriptor.name === metricNames.oldestRunnableAge)?.dataPoints[0]?.value;
    expect(backlog).toEqual(expect.any(Number));
  });

  it('taskctl works against the admin function (queues, enqueue through the queue, dlq replay)', async () => {
    // The HTTP trigger as the Functions host builds it (function keys are the host's business).
    const front = await serveInvocations(async (r) => {
      const query = new URLSearchParams(r.query).toString();
      const res = await fns.admin(
        new HttpRequest({
          method: r.method,
          url: `http://localhost:7071${r.path}${query ? `?${query}` : ''}`,
          headers: r.headers,
          ...(r.body ? { body: { string: r.body } } : {}),
        }),
        ctx('admin'),
      );
      return {
        status: res.status ?? 200,
        headers: res.headers as Record<string, string>,
        body: String(res.body ?? ''),
      };
    });
    try {
      const url = ['--url', front.url, '--key', 'function-key'];
      const queuesOut = await taskctl(['queues', '--json', ...url]);
      expect(queuesOut.code, queuesOut.stderr).toBe(0);
      expect(JSON.parse(queuesOut.stdout)).toMatchObject({
        items: [{ provider: 'service-bus', queue: queueName }, {}],
      });
      const sent = await taskctl(['enqueue', 'echo', '--payload', '{"via":"taskctl"}', '--via', 'messages', ...url]);
      expect(sent.code, sent.stderr).toBe(0);
      expect(sent.stdout).toMatch(/^sent message/);
      const replay = await taskctl(['dlq', 'replay', queueName, ...url]);
      expect(replay.code, replay.stderr).toBe(0);
      expect(replay.stdout).toMatch(/replayed 0 message/);
    } finally {
      await front.close();
    }
  });
});
