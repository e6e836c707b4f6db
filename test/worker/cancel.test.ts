import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskStore } from '../../lib/store/create.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { spawnWorker, stopWorker, testConfig, waitFor, workerEnv, type WorkerProcess } from './helpers.js';

const settings = {
  HeartbeatInterval: 200,
  HeartbeatTimeout: 5_000,
  PollingInterval: 100,
  BatchSize: 2,
  ShutdownTimeout: 2_000,
};
const LONG = 600_000;
let t: TestDb;
let store: TaskStore;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  t = await openTestDb('cancel');
  store = createTaskStore(t.db, testConfig(settings));
  await store.ensureIndexes();
});
afterAll(async () => {
  if (worker) await stopWorker(worker, 5_000);
  await t.drop();
});

describe('cancellation', () => {
  it('a running task cancelled from another process is aborted at the next heartbeat and ends Cancelled', async () => {
    worker = spawnWorker(workerEnv(t.uri, t.name, settings));
    const workerId = await worker.ready;
    const { items } = await store.ingest([{ type: 'watch-sleep', payload: { ms: LONG }, idempotencyKey: 'cancel-me' }]);
    const id = items[0]!.taskId;
    await waitFor(async () => (await store.get(id))?.status === S.Running, 'task running in the worker process');

    const res = await store.cancel(id, { by: 'operator', reason: 'no longer needed' });
    expect(res.outcome).toBe('requested');

    const task = await waitFor(async () => {
      const x = await store.get(id);
      return x?.status === S.Cancelled ? x : undefined;
    }, 'task Cancelled');
    expect(task.owner?.workerId).toBe(workerId);
    expect(task.cancelRequested).toBe(true);
    // Aborted, not finished on its own: the handler saw the abort, and the task ended well before its sleep would have.
    const events = await t.db.collection('events').find({ taskId: id }).toArray();
    expect(events).toMatchObject([{ kind: 'aborted', reason: 'cancel' }]);
    expect(task.finishedAt!.getTime() - task.startedAt!.getTime()).toBeLessThan(LONG);
    expect(task.result).toBeUndefined();

    // A task cancelled before any worker took it never runs.
    const { items: waiting } = await store.ingest([
      { type: 'echo', payload: 1, idempotencyKey: 'cancel-early', notBefore: new Date(Date.now() + 3_600_000) },
    ]);
    expect((await store.cancel(waiting[0]!.taskId)).outcome).toBe('cancelled');
  });
});
