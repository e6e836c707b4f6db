/**
 * Ordered execution per key across worker processes: 4 workers on 2,000 tasks over 50 keys, ingested in
 * batches while the workers run (so ingests race the finishers of the same keys). From the execution log
 * the handlers write (test/fixtures/worker-process.ts, type `ordered`): every key's tasks ran one at a
 * time and in ingest order, and tasks of different keys ran at once. Then a task that fails for good
 * blocks its key (Ordering:OnFailure=block) until an operator unblocks it, or passes the turn (continue).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createTaskStore } from '../../lib/store/create.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import type { NewTask, Task } from '../../lib/tasks/model.js';
import { loadConfig } from '../../lib/config/index.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { WorkerRegistry } from '../../lib/worker-registry/registry.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { spawnWorker, stopWorker, waitFor, workerEnv, type WorkerProcess } from './helpers.js';

const KEYS = 50;
const TASKS = 2_000;
const settings = { HeartbeatInterval: 1_000, PollingInterval: 50, BatchSize: 8, Concurrency: 8, RetryBaseDelay: 20 };

interface LogRow {
  taskId: string;
  key: string;
  n: number;
  kind: 'start' | 'end';
  running?: number;
  ordinal?: number;
  allRunning?: number;
  pid: number;
}

const procs: WorkerProcess[] = [];
const dbs: TestDb[] = [];

async function setUp(name: string, onFailure: 'block' | 'continue'): Promise<{ t: TestDb; store: TaskStore }> {
  const t = await openTestDb(name);
  dbs.push(t);
  const config = loadConfig({ env: {}, overrides: { Worker: settings, Ordering: { OnFailure: onFailure } } });
  const store = createTaskStore(t.db, config);
  await store.ensureIndexes();
  await new WorkerRegistry(t.db).ensureIndexes();
  return { t, store };
}

function spawn(t: TestDb, count: number, onFailure: 'block' | 'continue'): WorkerProcess[] {
  const env = { ...workerEnv(t.uri, t.name, settings), Ordering__OnFailure: onFailure };
  const started = Array.from({ length: count }, () => spawnWorker(env));
  procs.push(...started);
  return started;
}

const ordered = (key: string, n: number, extra: Partial<NewTask> & { fail?: boolean } = {}): NewTask => {
  const { fail, ...rest } = extra;
  return { type: 'ordered', orderingKey: key, payload: { key, n, ...(fail ? { fail } : {}) }, ...rest };
};

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => stopWorker(p, 5_000)));
});
afterAll(async () => {
  for (const t of dbs) await t.drop();
});

describe('ordered execution per key with real worker processes', () => {
  it('4 workers, 2,000 tasks over 50 keys: each key one at a time, in ingest order; keys in parallel', async () => {
    const { t, store } = await setUp('ordering', 'continue');
    const workers = spawn(t, 4, 'continue');
    await Promise.all(workers.map((w) => w.ready));
    // Ingested in 20 batches while the workers run: task i is the (i / KEYS)-th of key i % KEYS.
    for (let b = 0; b < 20; b++) {
      const batch = Array.from({ length: TASKS / 20 }, (_, j) => b * (TASKS / 20) + j);
      await store.ingest(batch.map((i) => ordered(`key-${i % KEYS}`, Math.floor(i / KEYS))));
    }
    const tasks = t.db.collection<Task>('tasks');
    await waitFor(
      async () => (await tasks.countDocuments({ status: S.Succeeded })) === TASKS,
      'all tasks Succeeded',
      600_000,
      250,
    );
    const log = await t.db.collection<LogRow>('execution_log').find({}).toArray();
    const starts = log.filter((r) => r.kind === 'start');
    expect(starts).toHaveLength(TASKS);
    expect(log.filter((r) => r.kind === 'end')).toHaveLength(TASKS);
    // At most one task of a key ran at a time (the key's count of running tasks, as each start saw it).
    expect(starts.filter((r) => r.running !== 1)).toEqual([]);
    for (let k = 0; k < KEYS; k++) {
      const key = `key-${k}`;
      const order = starts
        .filter((r) => r.key === key)
        .sort((a, b) => a.ordinal! - b.ordinal!)
        .map((r) => r.n);
      expect(order, key).toEqual(Array.from({ length: TASKS / KEYS }, (_, i) => i));
    }
    // Keys ran in parallel, across the processes.
    expect(Math.max(...starts.map((r) => r.allRunning!))).toBeGreaterThan(1);
    expect(new Set(starts.map((r) => r.pid)).size).toBeGreaterThan(1);
    expect(await store.orderingKeys({ blocked: true })).toEqual([]);
    const keys = await store.orderingKeys({ limit: 1000 });
    expect(keys).toHaveLength(KEYS);
    expect(keys.every((k) => k.activeTaskId === null && k.seq === TASKS / KEYS)).toBe(true);
  });

  it.each(['block', 'continue'] as const)(
    'Ordering:OnFailure=%s: a task that fails for good blocks its key or passes the turn',
    async (onFailure) => {
      const { t, store } = await setUp(`ordering_${onFailure}`, onFailure);
      await store.ingest([
        ordered('bad', 0, { fail: true, maxRetries: 1 }),
        ordered('bad', 1),
        ordered('bad', 2),
        ordered('good', 0),
        ordered('good', 1),
      ]);
      const [w] = spawn(t, 1, onFailure);
      await w!.ready;
      const tasks = t.db.collection<Task>('tasks');
      const statusOf = async (key: string, n: number) =>
        (await tasks.findOne({ orderingKey: key, 'payload.n': n }))?.status;
      await waitFor(async () => (await statusOf('good', 1)) === S.Succeeded, 'key good done');
      await waitFor(async () => (await statusOf('bad', 0)) === S.Error, 'the failing task ends Error');
      if (onFailure === 'block') {
        // The key blocks right after the task's own write (the same store call).
        const blocked = await waitFor(async () => {
          const keys = await store.orderingKeys({ blocked: true });
          return keys.length > 0 && keys;
        }, 'key bad blocked');
        expect(blocked.map((k) => k.key)).toEqual(['bad']);
        // Nothing of the key runs while it is blocked (a few polls' worth of time).
        await new Promise((r) => setTimeout(r, 500));
        expect([await statusOf('bad', 1), await statusOf('bad', 2)]).toEqual([S.Queued, S.Queued]);
        expect((await store.unblockKey('bad')).outcome).toBe('unblocked');
      }
      await waitFor(async () => (await statusOf('bad', 2)) === S.Succeeded, 'the rest of key bad runs');
      const starts = await t.db
        .collection<LogRow>('execution_log')
        .find({ key: 'bad', kind: 'start' })
        .sort({ ordinal: 1 })
        .toArray();
      // The failing task's two attempts first (a retry keeps the turn), then the others in order.
      expect(starts.map((r) => r.n)).toEqual([0, 0, 1, 2]);
    },
  );
});
