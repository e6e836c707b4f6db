import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTaskStore } from '../../lib/store/create.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { WorkerRegistry } from '../../lib/worker-registry/registry.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { spawnWorker, stopWorker, testConfig, waitFor, workerEnv, type WorkerProcess } from './helpers.js';

// One slot and a batch of three: one task runs, two wait unstarted.
const settings = {
  HeartbeatInterval: 200,
  HeartbeatTimeout: 5_000,
  PollingInterval: 100,
  BatchSize: 3,
  Concurrency: 1,
  ShutdownTimeout: 300,
};
let t: TestDb;
let store: TaskStore;
const procs: WorkerProcess[] = [];

beforeAll(async () => {
  t = await openTestDb('shutdown');
  store = createTaskStore(t.db, testConfig(settings));
  await store.ensureIndexes();
  await new WorkerRegistry(t.db).ensureIndexes();
});
afterAll(async () => {
  await Promise.all(procs.map((p) => stopWorker(p, 5_000)));
  await t.drop();
});

describe('graceful shutdown', () => {
  it('SIGTERM releases unstarted and unfinished tasks without counting the attempt; a restarted worker finishes them', async () => {
    const { items } = await store.ingest(
      Array.from({ length: 5 }, (_, i) => ({ type: 'block', payload: { gate: 'g1' }, idempotencyKey: `sd-${i}` })),
    );
    const ids = items.map((i) => i.taskId);
    const first = spawnWorker(workerEnv(t.uri, t.name, settings));
    procs.push(first);
    const firstId = await first.ready;
    const held = await waitFor(async () => {
      const tasks = await t.db.collection('tasks').find({ 'owner.workerId': firstId }).toArray();
      const running = tasks.filter((x) => x.status === S.Running);
      const assigned = tasks.filter((x) => x.status === S.Assigned);
      return running.length === 1 && assigned.length === 2 ? tasks.map((x) => x._id as unknown as string) : undefined;
    }, 'one running and two waiting tasks');

    first.child.kill('SIGTERM');
    const exit = await first.exited;
    expect(exit.code, first.output()).toBe(0);
    expect(first.summary()).toMatchObject({ stoppedBecause: 'SIGTERM', outcomes: { released: 3 } });

    for (const id of ids) {
      const task = await store.get(id);
      expect(task?.status).toBe(S.Queued);
      expect(task?.attempts).toBe(0);
      expect(task?.owner).toBeNull();
    }
    for (const id of held) {
      const task = await store.get(id);
      expect(task?.history.at(-1)).toMatchObject({ to: S.Queued, by: firstId });
      expect(task?.history.at(-1)?.reason).toContain('worker shutting down');
    }
    expect((await new WorkerRegistry(t.db).get(firstId))?.state).toBe('stopped');

    await t.db.collection<{ _id: string; open: boolean }>('gates').insertOne({ _id: 'g1', open: true });
    const second = spawnWorker(workerEnv(t.uri, t.name, settings));
    procs.push(second);
    await second.ready;
    await waitFor(
      async () => (await t.db.collection('tasks').countDocuments({ status: S.Succeeded })) === ids.length,
      'all tasks Succeeded',
    );
    for (const id of ids) expect((await store.get(id))?.attempts).toBe(1);
    await stopWorker(second);
  });
});
