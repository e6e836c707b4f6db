import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReclaimerLoop, type ReclaimerLoop } from '../../lib/reclaimer/index.js';
import { createTaskStore } from '../../lib/store/create.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { WorkerRegistry } from '../../lib/worker-registry/registry.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { spawnWorker, stopWorker, testConfig, waitFor, workerEnv, type WorkerProcess } from './helpers.js';

const TASKS = 40;
const settings = {
  HeartbeatInterval: 200,
  HeartbeatTimeout: 1_500,
  PollingInterval: 100,
  BatchSize: 2,
  Concurrency: 2,
  RetryBaseDelay: 50,
  RetryMaxDelay: 200,
  ShutdownTimeout: 2_000,
};

let t: TestDb;
let store: TaskStore;
let stateDir: string;
let reclaimer: ReclaimerLoop | undefined;
const procs: WorkerProcess[] = [];

beforeAll(async () => {
  t = await openTestDb('crash');
  store = createTaskStore(t.db, testConfig(settings));
  await store.ensureIndexes();
  await new WorkerRegistry(t.db).ensureIndexes();
  stateDir = mkdtempSync(join(tmpdir(), 'taskmesh-crash-'));
});

afterAll(async () => {
  await reclaimer?.stop();
  await Promise.all(procs.map((p) => stopWorker(p, 5_000)));
  rmSync(stateDir, { recursive: true, force: true });
  await t.drop();
});

describe('crash recovery with real processes', () => {
  it('workers killed with SIGKILL mid-task: every task ends Succeeded, each success recorded exactly once, none lost', async () => {
    const ingest = await store.ingest(
      Array.from({ length: TASKS }, (_, i) => ({
        type: 'record',
        payload: { ms: 250 + (i % 5) * 50 },
        maxRetries: 10,
        idempotencyKey: `crash-${i}`,
      })),
    );
    const ids = ingest.items.map((i) => i.taskId);
    const env = workerEnv(t.uri, t.name, { ...settings, StateDirectory: stateDir });
    const spawnOne = () => {
      const p = spawnWorker(env);
      procs.push(p);
      return p;
    };
    const first = [spawnOne(), spawnOne(), spawnOne()];
    const firstIds = await Promise.all(first.map((p) => p.ready));
    expect(new Set(firstIds).size).toBe(3);
    reclaimer = startReclaimerLoop({ db: t.db, config: testConfig(settings), everyMs: 300, by: 'crash-test' });

    // Kill two workers while each holds a running task.
    const victims = first.slice(0, 2);
    const victimIds = firstIds.slice(0, 2);
    const heldAtKill = await waitFor(
      async () => {
        const running = await t.db
          .collection('tasks')
          .find(
            { status: S.Running, 'owner.workerId': { $in: victimIds } },
            { projection: { _id: 1, 'owner.workerId': 1 } },
          )
          .toArray();
        const owners = new Set(running.map((r) => (r as unknown as { owner: { workerId: string } }).owner.workerId));
        return owners.size === 2 ? running.map((r) => r._id as unknown as string) : undefined;
      },
      'both victims running a task',
      60_000,
      20,
    );
    for (const v of victims) v.child.kill('SIGKILL');
    await Promise.all(victims.map((v) => v.exited));

    // Restarted with the same state directory, they take their old slots back: same ids.
    const restarted = [spawnOne(), spawnOne()];
    const restartedIds = await Promise.all(restarted.map((p) => p.ready));
    expect(restartedIds.sort()).toEqual([...victimIds].sort());

    await waitFor(
      async () => (await t.db.collection('tasks').countDocuments({ status: S.Succeeded })) === TASKS,
      'all tasks Succeeded',
      90_000,
      100,
    );
    const tasks = await t.db
      .collection<Task>('tasks')
      .find({ _id: { $in: ids } })
      .toArray();
    expect(tasks).toHaveLength(TASKS);
    for (const task of tasks) expect(task.status).toBe(S.Succeeded);

    // Which process ran each task's last attempt: its execution row is written after the work, before complete().
    const executions = await t.db
      .collection<{ taskId: string; attempt: number; pid: number }>('executions')
      .find({})
      .toArray();
    for (const id of ids)
      expect(
        executions.some((e) => e.taskId === id),
        `an execution of ${id}`,
      ).toBe(true);
    const victimPids = new Set(victims.map((v) => v.child.pid));
    const completedByVictim = (task: (typeof tasks)[number]) =>
      executions.some((e) => e.taskId === task._id && e.attempt === task.attempts && victimPids.has(e.pid));

    // The success record follows complete(): a SIGKILL between the two (in a victim) loses it; nothing else may.
    await waitFor(
      async () => {
        const recorded = new Set(
          (await t.db.collection<{ taskId: string }>('successes').find({}).toArray()).map((x) => x.taskId),
        );
        return tasks.every((task) => recorded.has(task._id) || completedByVictim(task));
      },
      'every success recorded',
      30_000,
      100,
    );
    const successes = await t.db.collection<{ taskId: string; pid: number }>('successes').find({}).toArray();
    for (const task of tasks) {
      const n = successes.filter((x) => x.taskId === task._id).length;
      if (completedByVictim(task)) expect(n, `successes of ${task._id}`).toBeLessThanOrEqual(1);
      else expect(n, `successes of ${task._id}`).toBe(1);
    }
    expect(successes.length).toBeGreaterThanOrEqual(TASKS - victims.length * settings.Concurrency);

    // The tasks the victims held were taken back from them and run again (unless one finished in the instant before the kill).
    let reclaimed = 0;
    for (const id of heldAtKill) {
      const task = tasks.find((x) => x._id === id)!;
      if (completedByVictim(task)) continue;
      expect(task.attempts).toBeGreaterThanOrEqual(2);
      expect(task.errors.some((e) => e.kind === 'LeaseExpired')).toBe(true);
      reclaimed++;
    }
    expect(reclaimed).toBeGreaterThanOrEqual(1);
  });
});
