import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricData,
} from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { metricNames, observeQueues, useMeterProvider } from '../../lib/telemetry/metrics.js';
import { FakeQueue } from '../admin/support.js';
import { openTestDb, type TestDb } from '../support/db.js';

/** A meter provider whose numbers the test reads on demand (cumulative: each read has the totals so far). */
function collector() {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // The interval never fires during a test; forceFlush collects and exports on demand.
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const read = async (): Promise<MetricData[]> => {
    exporter.reset();
    await reader.forceFlush();
    return exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics));
  };
  const find = async (name: string) => (await read()).find((m) => m.descriptor.name === name);
  /** A counter's total over all attribute sets (0 when never incremented). */
  const sum = async (name: string, where: Record<string, unknown> = {}) => {
    const m = await find(name);
    if (!m) return 0;
    expect(m.dataPointType).toBe(DataPointType.SUM);
    return m.dataPoints
      .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v))
      .reduce((a, p) => a + (p.value as number), 0);
  };
  /** A histogram's number of recordings. */
  const histCount = async (name: string) => {
    const m = await find(name);
    if (!m) return 0;
    expect(m.dataPointType).toBe(DataPointType.HISTOGRAM);
    return m.dataPoints.reduce((a, p) => a + (p.value as { count: number }).count, 0);
  };
  return { provider, read, find, sum, histCount };
}

describe('task metrics from the store', () => {
  let tdb: TestDb;
  let store: MongoTaskStore;
  let c: ReturnType<typeof collector>;

  beforeAll(async () => {
    tdb = await openTestDb('tel_metrics');
  });
  beforeEach(async () => {
    await tdb.db.collection('tasks').deleteMany({});
    c = collector();
    useMeterProvider(c.provider);
    store = new MongoTaskStore(tdb.db, { maxRetries: 1, backoff: { baseMs: 1, capMs: 1 } });
  });
  afterAll(async () => {
    useMeterProvider(undefined);
    await tdb.drop();
  });

  it('counts a known workload exactly: ingest 5 with 1 duplicate, claim/complete 3, fail 1', async () => {
    await store.ingest([
      { type: 'a', idempotencyKey: 'k1' },
      { type: 'a', idempotencyKey: 'k2' },
      { type: 'b', idempotencyKey: 'k3' },
    ]);
    await store.ingest([
      { type: 'b', idempotencyKey: 'k4' },
      { type: 'a', idempotencyKey: 'k1' },
    ]);
    for (let i = 0; i < 3; i++) {
      const [t] = await store.claim('w1');
      await store.start(t!.lease);
      expect((await store.complete(t!.lease, { i })).owned).toBe(true);
    }
    const [f] = await store.claim('w1');
    await store.start(f!.lease);
    await store.fail(f!.lease, { message: 'bad input' }, { retryable: false });
    expect(await store.claim('w1')).toEqual([]);

    expect(await c.sum(metricNames.ingested)).toBe(4);
    expect(await c.sum(metricNames.duplicates)).toBe(1);
    expect(await c.sum(metricNames.duplicates, { 'task.type': 'a' })).toBe(1);
    expect(await c.sum(metricNames.ingested, { 'task.type': 'b' })).toBe(2);
    expect(await c.sum(metricNames.claimed)).toBe(4);
    expect(await c.sum(metricNames.succeeded)).toBe(3);
    expect(await c.sum(metricNames.failed)).toBe(1);
    expect(await c.sum(metricNames.failed, { 'task.final': true, 'failure.kind': 'error' })).toBe(1);
    expect(await c.sum(metricNames.retried)).toBe(0);
    expect(await c.sum(metricNames.timedOut)).toBe(0);
    expect(await c.sum(metricNames.cancelled)).toBe(0);
    expect(await c.sum(metricNames.reclaimed)).toBe(0);
    // Five claim calls (the last found nothing); four attempts ended; four tasks waited from creation to claim.
    expect(await c.histCount(metricNames.claimLatency)).toBe(5);
    expect(await c.histCount(metricNames.processingDuration)).toBe(4);
    expect(await c.histCount(metricNames.enqueueToStart)).toBe(4);
    const duration = await c.find(metricNames.processingDuration);
    expect(duration!.descriptor.unit).toBe('ms');
  });

  it('counts retries, timeouts, cancellations (worker and operator), reclaims and operator retries', async () => {
    await store.ingest(['r', 't', 'c', 'o', 'x'].map((k, i) => ({ type: 'job', idempotencyKey: k, priority: 10 - i })));
    // r: fails once with attempts left -> Retrying.
    const [r] = await store.claim('w1');
    await store.start(r!.lease);
    expect((await store.fail(r!.lease, { message: 'transient' })).status).toBe(S.Retrying);
    await tdb.db.collection('tasks').updateOne({ _id: r!.task._id as never }, { $set: { priority: -100 } });
    // t: times out with attempts left -> Retrying.
    const [t] = await store.claim('w1');
    await store.start(t!.lease);
    expect((await store.timedOut(t!.lease, { message: 'too slow' })).status).toBe(S.Retrying);
    await tdb.db.collection('tasks').updateOne({ _id: t!.task._id as never }, { $set: { priority: -100 } });
    // c: running, cancel requested by an operator, acknowledged by the worker.
    const [cc] = await store.claim('w1');
    await store.start(cc!.lease);
    expect((await store.cancel(cc!.task._id)).outcome).toBe('requested');
    await store.cancelled(cc!.lease);
    // o: cancelled by an operator while waiting, then retried by the operator.
    const o = (await store.list({ status: [S.Queued] })).tasks.find((x) => x.idempotencyKey === 'o')!;
    expect((await store.cancel(o._id)).outcome).toBe('cancelled');
    await store.retry(o._id);
    // x: claimed by a worker that then stops heartbeating: reclaimed.
    const x = (await store.list({ status: [S.Queued] })).tasks.find((y) => y.idempotencyKey === 'x')!;
    await tdb.db.collection('tasks').updateOne({ _id: x._id as never }, { $set: { priority: 1000 } });
    const [stalled] = await store.claim('w2');
    expect(stalled!.task._id).toBe(x._id);
    const reclaim = await store.reclaim({ heartbeatTimeoutMs: 1, now: new Date(Date.now() + 60_000) });
    expect(reclaim.retried).toBe(1);

    expect(await c.sum(metricNames.retried)).toBe(3);
    expect(await c.sum(metricNames.retried, { 'retry.reason': 'error' })).toBe(1);
    expect(await c.sum(metricNames.retried, { 'retry.reason': 'timeout' })).toBe(1);
    expect(await c.sum(metricNames.retried, { 'retry.reason': 'operator' })).toBe(1);
    expect(await c.sum(metricNames.failed)).toBe(2);
    expect(await c.sum(metricNames.failed, { 'task.final': false })).toBe(2);
    expect(await c.sum(metricNames.timedOut)).toBe(1);
    expect(await c.sum(metricNames.cancelled)).toBe(2);
    expect(await c.sum(metricNames.cancelled, { 'cancel.by': 'worker' })).toBe(1);
    expect(await c.sum(metricNames.cancelled, { 'cancel.by': 'operator' })).toBe(1);
    expect(await c.sum(metricNames.reclaimed)).toBe(1);
    expect(await c.sum(metricNames.claimed)).toBe(4);
    expect(await c.sum(metricNames.succeeded)).toBe(0);
  });

  it('a write that lost its lease counts nothing', async () => {
    await store.ingest([{ type: 'job', idempotencyKey: 'lost' }]);
    const [t] = await store.claim('w1');
    await store.start(t!.lease);
    const stolen = { ...t!.lease, leaseToken: 'not-mine' };
    expect((await store.complete(stolen)).owned).toBe(false);
    expect((await store.fail(stolen, { message: 'x' })).owned).toBe(false);
    expect(await c.sum(metricNames.succeeded)).toBe(0);
    expect(await c.sum(metricNames.failed)).toBe(0);
  });

  it('observes queue depth, dead-letter depth, oldest age and reachability from provider health', async () => {
    const q = new FakeQueue('fake', 'tasks');
    await q.send({ body: 'a' });
    await q.send({ body: 'b' });
    q.addDeadLetters(3);
    const down = new FakeQueue('fake', 'orders');
    down.reachable = false;
    const stop = observeQueues([q, down]);
    const metrics = await c.read();
    const point = (name: string, queue: string) =>
      metrics.find((m) => m.descriptor.name === name)?.dataPoints.find((p) => p.attributes['queue.name'] === queue)
        ?.value;
    expect(point(metricNames.queueDepth, 'tasks')).toBe(2);
    expect(point(metricNames.deadLetterDepth, 'tasks')).toBe(3);
    expect(typeof point(metricNames.oldestMessageAge, 'tasks')).toBe('number');
    expect(point(metricNames.queueReachable, 'tasks')).toBe(1);
    expect(point(metricNames.queueReachable, 'orders')).toBe(0);
    expect(point(metricNames.queueDepth, 'orders')).toBeUndefined();
    stop();
    const healthCalls = q.calls.filter((x) => x === 'health').length;
    await c.read();
    expect(q.calls.filter((x) => x === 'health').length).toBe(healthCalls);
  });
});
