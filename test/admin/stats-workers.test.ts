import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { taskTypeRule } from '../../lib/handlers/known-types.js';
import { WorkerRegistry } from '../../lib/worker-registry/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { expectProblem, harness, items, obj, runToEnd, type Harness } from './support.js';

describe('admin API: stats and workers', () => {
  let tdb: TestDb;
  let h: Harness;

  beforeAll(async () => {
    tdb = await openTestDb('admin_stats');
    h = harness(tdb.db);
    await h.store.ensureIndexes();
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('GET /stats: counts by status, throughput per minute, failure and retry rates', async () => {
    await h.store.ingest(Array.from({ length: 6 }, (_, i) => ({ type: 'job', idempotencyKey: `s-${i}` })));
    await runToEnd(h.store, 'succeed');
    await runToEnd(h.store, 'succeed');
    await runToEnd(h.store, 'fail-final');
    // One task fails once, is retried (attempt 2) and then succeeds: it counts as succeeded and retried.
    const id = (await runToEnd(h.store, 'fail'))!;
    await tdb.db
      .collection('tasks')
      .updateOne({ _id: id as never }, { $set: { nextAttemptAt: new Date(0), priority: 10 } });
    expect(await runToEnd(h.store, 'succeed')).toBe(id);

    const res = await h.call('GET', '/stats');
    expect(res.status).toBe(200);
    const s = obj(res.json);
    expect(s.total).toBe(6);
    expect(s.counts).toMatchObject({ Succeeded: 3, Error: 1, Queued: 2 });
    expect(
      (s.statuses as { name: string; status: number; count: number }[]).find((x) => x.name === 'Succeeded'),
    ).toEqual({ name: 'Succeeded', status: 23, count: 3 });
    expect(typeof s.oldestClaimableAgeMs).toBe('number');
    const t = obj(s.throughput);
    expect(t.bucketMs).toBe(60_000);
    const buckets = t.buckets as { at: string; succeeded: number; failed: number; retried: number }[];
    expect(buckets.length).toBeGreaterThanOrEqual(60);
    expect(buckets.length).toBeLessThanOrEqual(61);
    expect(buckets.reduce((a, b) => a + b.succeeded, 0)).toBe(3);
    expect(buckets.reduce((a, b) => a + b.failed, 0)).toBe(1);
    expect(t.totals).toEqual({ succeeded: 3, failed: 1, cancelled: 0, retried: 1 });
    expect(obj(s.rates)).toEqual({ failureRate: 0.25, retryRate: 0.25 });
    // Oldest bucket first, one minute apart.
    expect(Date.parse(buckets[1]!.at) - Date.parse(buckets[0]!.at)).toBe(60_000);
  });

  it('GET /stats: tasks waiting for a type no live worker handles are listed until a worker for it registers', async () => {
    await h.store.ingest([
      { type: 'orphan', idempotencyKey: 'o-1' },
      { type: 'orphan', idempotencyKey: 'o-2' },
    ]);
    const unserved = async () =>
      obj((await h.call('GET', '/stats')).json).waitingWithoutWorker as { type: string; count: number }[];
    expect(await unserved()).toEqual(expect.arrayContaining([{ type: 'orphan', count: 2 }]));
    await new WorkerRegistry(tdb.db).register({
      id: 'w-orphan',
      host: { hostname: 'h', pid: 1, platform: 'linux', nodeVersion: 'v20' },
      types: ['orphan'],
      concurrency: 1,
    });
    expect((await unserved()).map((w) => w.type)).not.toContain('orphan');
    await tdb.db.collection('workers').deleteOne({ _id: 'w-orphan' as never });
    // A deployment whose own handlers declare the type serves it (its processors start on demand).
    const declared = harness(tdb.db, {
      ctx: { taskTypes: taskTypeRule({ types: () => ['job'] }, { AllowUnknownTypes: false, ExtraTypes: undefined }) },
    });
    const s = obj((await declared.call('GET', '/stats')).json);
    expect((s.waitingWithoutWorker as { type: string }[]).map((w) => w.type)).not.toContain('job');
  });

  it('GET /stats?minutes= narrows the window; bad values are refused', async () => {
    const res = await h.call('GET', '/stats', { query: { minutes: '5' } });
    expect(res.status).toBe(200);
    expect((obj(obj(res.json).throughput).buckets as unknown[]).length).toBeLessThanOrEqual(6);
    expectProblem(await h.call('GET', '/stats', { query: { minutes: '0' } }), 400);
    expectProblem(await h.call('GET', '/stats', { query: { minutes: 'lots' } }), 400);
    expectProblem(await h.call('GET', '/stats', { query: { bogus: '1' } }), 400);
  });

  it('GET /workers: identity, state, heartbeat age, current tasks; filters by state', async () => {
    const now = Date.now();
    const host = {
      hostname: 'node-1',
      pid: 42,
      platform: 'linux',
      nodeVersion: 'v20.0.0',
      podName: 'pod-a',
      runtime: 'kubernetes',
    };
    await tdb.db.collection('workers').insertMany([
      {
        _id: 'node-1-pod-a-1' as never,
        host,
        state: 'busy',
        currentTaskIds: ['t1', 't2'],
        types: ['job'],
        concurrency: 4,
        startedAt: new Date(now - 600_000),
        lastHeartbeatAt: new Date(now - 2_000),
        processed: 17,
        version: 3,
      },
      {
        _id: 'node-1-pod-b-2' as never,
        host,
        state: 'idle',
        currentTaskIds: [],
        types: ['job'],
        concurrency: 4,
        startedAt: new Date(now - 900_000),
        lastHeartbeatAt: new Date(now - 400_000),
        version: 9,
      },
      {
        _id: 'node-2-pod-c-3' as never,
        host,
        state: 'dead',
        currentTaskIds: [],
        types: [],
        concurrency: 1,
        startedAt: new Date(now - 9e6),
        lastHeartbeatAt: new Date(now - 8e6),
        version: 1,
      },
    ]);
    const res = await h.call('GET', '/workers');
    expect(res.status).toBe(200);
    const list = items(res.json);
    expect(list.map((w) => w.id)).toEqual(['node-1-pod-a-1', 'node-1-pod-b-2', 'node-2-pod-c-3']);
    expect(list[0]).toMatchObject({
      state: 'busy',
      currentTasks: 2,
      currentTaskIds: ['t1', 't2'],
      processed: 17,
      stale: false,
      host: { podName: 'pod-a' },
    });
    expect(list[0]!.heartbeatAgeMs as number).toBeGreaterThanOrEqual(2_000);
    expect(list[0]!.heartbeatAgeMs as number).toBeLessThan(60_000);
    expect(list[1]).toMatchObject({ state: 'idle', stale: true, processed: null });
    expect(list[2]).toMatchObject({ state: 'dead', stale: false });

    expect(items((await h.call('GET', '/workers', { query: { state: 'busy,idle' } })).json)).toHaveLength(2);
    expect(items((await h.call('GET', '/workers', { query: { state: 'dead' } })).json)).toHaveLength(1);
    expectProblem(await h.call('GET', '/workers', { query: { state: 'sleepy' } }), 400);
    expectProblem(await h.call('GET', '/workers', { query: { limit: '-1' } }), 400);
  });
});
