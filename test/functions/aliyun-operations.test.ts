/**
 * The operations API on Function Compute as on `npm start`: the admin handler, invoked as the FC
 * runtime invokes it (event Buffer, context with the function role's STS credentials), is built with
 * the MNS queue (the local peer checks every signature and token): GET /api/queues with depth and
 * dead-letter depth, dead-letter replay, POST /api/messages; the reclaimer timer observes the queue
 * gauges and logs the task backlog that the SLS alerts read.
 */
import { randomBytes } from 'node:crypto';
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
import { createMnsProvider } from '../../lib/queues/mns/index.js';
import { metricNames, useMeterProvider } from '../../lib/telemetry/metrics.js';
import { serveInvocations, taskctl } from '../support/host-http.js';
import { startMnsPeer, type MnsPeerHandle } from '../support/mns-peer/index.js';
import { mongoUri } from '../support/services.js';

const suffix = randomBytes(3).toString('hex');
const KEY = { accessKeyId: 'STS.fc-role', accessKeySecret: 'sts-secret', securityToken: 'sts-token' };
const context = (name: string) => ({
  requestId: randomBytes(8).toString('hex'),
  credentials: KEY,
  function: { name, handler: `dist/functions/aliyun/index.${name}`, memory: 512, timeout: 600 },
  region: 'cn-hangzhou',
  accountId: '1234567890123456',
  logger: console,
});
const httpEvent = (method: string, path: string, body = '') =>
  Buffer.from(
    JSON.stringify({
      version: 'v1',
      rawPath: path,
      body,
      isBase64Encoded: false,
      headers: { 'x-functions-key': 'fc-admin-key', 'content-type': 'application/json' },
      queryParameters: {},
      requestContext: { http: { method, path }, requestId: 'r' },
    }),
  );
const timerEvent = (name: string) =>
  Buffer.from(JSON.stringify({ triggerTime: new Date().toISOString(), triggerName: name, payload: '' }));

interface QueueItem {
  provider: string;
  queue: string;
  reachable: boolean;
  depth: number | null;
  deadLetterDepth: number | null;
}

describe('Function Compute: the same operations as npm start (MNS peer)', () => {
  let mns: MnsPeerHandle;
  let fns: typeof import('../../functions/aliyun/index.js');
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meters = new MeterProvider({ readers: [reader] });
  const queueName = `tasks-${suffix}`;

  beforeAll(async () => {
    mns = await startMnsPeer(KEY);
    useMeterProvider(meters);
    Object.assign(process.env, {
      MONGODB_URI: await mongoUri(),
      MongoDB__DatabaseName: `fcops_${suffix}`,
      Ingest__Provider: 'mns',
      Aliyun__MNSEndpoint: mns.endpoint,
      Aliyun__AccountId: mns.accountId,
      Aliyun__QueueName: queueName,
      Aliyun__DeadLetterQueueName: `${queueName}-dlq`,
      Admin__ApiKey: 'fc-admin-key',
    });
    fns = await import('../../functions/aliyun/index.js');
    // The templates declare both queues; a producer creates them here.
    const producer = createMnsProvider(loadConfig({ env: { ...process.env } }).Aliyun, { credentials: KEY });
    await producer.ensureQueues();
    await producer.close();
  });
  afterAll(async () => {
    useMeterProvider(undefined);
    await resetSharedHostQueues();
    await resetSharedServices();
    const client = await new MongoClient(await mongoUri()).connect();
    await client.db(`fcops_${suffix}`).dropDatabase();
    await client.close();
    await mns.stop();
    await meters.shutdown();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fns.admin(
      httpEvent(method, `/api${path}`, body === undefined ? '' : JSON.stringify(body)),
      context('admin'),
    );
    return { status: res.statusCode, json: JSON.parse(res.body) as unknown };
  };
  const queues = async () => ((await call('GET', '/queues')).json as { items: QueueItem[] }).items;

  it('POST /api/messages sends to the MNS queue with the invocation credentials', async () => {
    const sent = await call('POST', '/messages', { body: { type: 'echo', payload: { n: 1 } } });
    expect(sent.status, JSON.stringify(sent.json)).toBe(202);
    expect(sent.json).toMatchObject({ messageId: expect.any(String) });
  });

  it('GET /api/queues lists the MNS queue with depth and dead-letter depth', async () => {
    const items = await queues();
    expect(items.map((q) => [q.provider, q.queue])).toEqual([['mns', queueName]]);
    expect(items[0]).toMatchObject({ reachable: true, depth: 1, deadLetterDepth: 0 });
  });

  it('replays the dead letters of the MNS queue', async () => {
    const provider = createMnsProvider(loadConfig({ env: { ...process.env } }).Aliyun, { credentials: KEY });
    const [m] = await provider.receive({ maxMessages: 1, waitMs: 1 });
    await provider.deadLetter(m!, 'InvalidMessage', 'test');
    await provider.close();
    expect((await queues())[0]).toMatchObject({ depth: 0, deadLetterDepth: 1 });

    const replay = await call('POST', `/queues/${queueName}/dead-letters/replay`);
    expect(replay.status).toBe(200);
    expect(replay.json).toMatchObject({ replayed: 1, failed: 0 });
    expect((await queues())[0]).toMatchObject({ depth: 1, deadLetterDepth: 0 });
  });

  it('the reclaimer timer observes the queue gauges and the task backlog gauge', async () => {
    expect((await call('POST', '/tasks', { type: 'echo', payload: 1 })).status).toBe(201);
    await fns.reclaimer(timerEvent('reclaimer'), context('reclaimer'));
    exporter.reset();
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
    const point = (name: string) =>
      metrics.find((m) => m.descriptor.name === name)?.dataPoints.find((p) => p.attributes['queue.name'] === queueName)
        ?.value;
    expect(point(metricNames.queueDepth)).toBe(1);
    expect(point(metricNames.deadLetterDepth)).toBe(0);
    expect(point(metricNames.queueReachable)).toBe(1);
    const backlog = metrics.find((m) => m.descriptor.name === metricNames.oldestRunnableAge)?.dataPoints[0]?.value;
    expect(backlog).toEqual(expect.any(Number));
  });

  it('taskctl works against the admin function (queues, enqueue through the queue, dlq replay)', async () => {
    // The HTTP trigger as Function Compute builds its event (the router checks Admin:ApiKey itself).
    const front = await serveInvocations(async (r) => {
      const event = Buffer.from(
        JSON.stringify({
          version: 'v1',
          rawPath: r.path,
          body: r.body,
          isBase64Encoded: false,
          headers: r.headers,
          queryParameters: r.query,
          requestContext: { http: { method: r.method, path: r.path }, requestId: 'r' },
        }),
      );
      const res = await fns.admin(event, context('admin'));
      return { status: res.statusCode, headers: res.headers, body: res.body };
    });
    try {
      const refused = await taskctl(['queues', '--url', front.url, '--key', 'wrong']);
      expect(refused.code).not.toBe(0);
      const url = ['--url', front.url, '--key', 'fc-admin-key'];
      const queuesOut = await taskctl(['queues', '--json', ...url]);
      expect(queuesOut.code, queuesOut.stderr).toBe(0);
      expect(JSON.parse(queuesOut.stdout)).toMatchObject({ items: [{ provider: 'mns', queue: queueName }] });
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
