/**
 * Exactly-once under races (issue 19) with real worker processes (test/fixtures/worker-process.ts):
 * a "run at most once" handler whose worker dies, a reclaimer whose clock runs ahead, a handler that
 * ignores its AbortSignal at shutdown and at its timeout. Store-level cases: test/store/races.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runReclaimer } from '../../lib/reclaimer/index.js';
import { createTaskStore } from '../../lib/store/create.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { WorkerRegistry } from '../../lib/worker-registry/registry.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { spawnWorker, stopWorker, testConfig, waitFor, workerEnv, type WorkerProcess } from './helpers.js';

const settings = {
  HeartbeatInterval: 200,
  HeartbeatTimeout: 3_000,
  PollingInterval: 100,
  BatchSize: 1,
  Concurrency: 1,
  RetryBaseDelay: 1,
  RetryMaxDelay: 1,
  ShutdownTimeout: 100,
};

let t: TestDb;
let store: TaskStore;
const procs: WorkerProcess[] = [];

function spawn(extra: Record<string, string> = {}): WorkerProcess {
  const p = spawnWorker({ ...workerEnv(t.uri, t.name, settings), ...extra });
  procs.push(p);
  return p;
}

const task = (id: string) => t.db.collection<Task>('tasks').findOne({ _id: id }) as Promise<Task>;
const rows = (collection: string, taskId: string) => t.db.collection(collection).countDocuments({ taskId });
const openGate = (gate: string) =>
  t.db.collection<{ _id: string; open: boolean }>('gates').insertOne({ _id: gate, open: true });

async function ingestOne(type: string, payload: unknown, extra: { maxRetries?: number; timeoutMs?: number } = {}) {
  const { items } = await store.ingest([{ type, payload, maxRetries: 3, ...extra }]);
  return items[0]!.taskId;
}

beforeAll(async () => {
  t = await openTestDb('races_mp');
  store = createTaskStore(t.db, testConfig(settings));
  await store.ensureIndexes();
  await new WorkerRegistry(t.db).ensureIndexes();
});
afterEach(async () => {
  // A failed case leaves no worker behind to take the next case's task.
  await Promise.all(procs.splice(0).map((p) => stopWorker(p, 5_000)));
});
afterAll(async () => t.drop());

describe('exactly-once with real worker processes', () => {
  it('case 2: a "run at most once" handler (maxRetries 0) whose worker is killed is not run again', async () => {
    const a = spawn();
    await a.ready;
    const id = await ingestOne('once', { ms: 120_000 });
    await waitFor(
      async () => (await rows('executions', id)) === 1 && (await task(id)).status === S.Running,
      'A runs it',
    );
    a.child.kill('SIGKILL');
    await a.exited;
    const b = spawn();
    await b.ready;
    const ended = await waitFor(async () => {
      await runReclaimer({ db: t.db, config: testConfig(settings), record: false, by: 'races-test' });
      const now = await task(id);
      return now.status !== S.Running ? now : undefined;
    }, 'the stalled task reclaimed');
    expect(ended).toMatchObject({ status: S.Timeout, attempts: 1, maxRetries: 0 });
    await stopWorker(b);
    expect(await rows('executions', id)).toBe(1);
  });

  it('case 3: a reclaimer whose clock runs ahead by more than HeartbeatTimeout takes no live lease', async () => {
    const a = spawn();
    const aId = await a.ready;
    const id = await ingestOne('record', { ms: 9_000 });
    await waitFor(async () => (await task(id)).status === S.Running, 'A runs it');
    // Another worker process, with its reclaimer, whose clock is 4 s ahead (HeartbeatTimeout 3 s).
    const skewed = spawn({ FIXTURE_CLOCK_SKEW_MS: '4000', FIXTURE_RECLAIMER: '1' });
    await skewed.ready;
    const done = await waitFor(
      async () => {
        const now = await task(id);
        return now.status === S.Succeeded ? now : undefined;
      },
      'the task Succeeded',
      90_000,
      100,
    );
    expect(done.errors.filter((e) => e.kind === 'LeaseExpired')).toEqual([]);
    expect(done).toMatchObject({ attempts: 1, owner: { workerId: aId } });
    expect(await rows('executions', id)).toBe(1);
    await Promise.all([stopWorker(a), stopWorker(skewed)]);
  });

  it('case 4: a handler that ignores the shutdown abort keeps its lease until it settles; no other worker starts the task', async () => {
    const a = spawn();
    const aId = await a.ready;
    const id = await ingestOne('stubborn', { gate: 'g-shutdown' });
    await waitFor(async () => (await rows('starts', id)) === 1 && (await task(id)).status === S.Running, 'A runs it');
    const b = spawn();
    await b.ready;
    a.child.kill('SIGTERM');
    // Past the abort grace, the old behaviour gives the task back; now the run keeps it and heartbeats go on.
    await waitFor(() => /handler ignored the (shutdown )?abort/.test(a.output()), 'A past the abort grace');
    const { version } = await task(id);
    const holder = await waitFor(async () => {
      const now = await task(id);
      if (now.status === S.Queued || now.owner?.workerId !== aId)
        return `released to ${now.owner?.workerId ?? 'nobody'}`;
      return now.status === S.Running && now.version > version ? 'A' : undefined;
    }, 'a heartbeat by A after the grace, or the task given back');
    expect(holder).toBe('A');
    await openGate('g-shutdown');
    expect((await a.exited).code).toBe(0);
    const done = await task(id);
    expect(done).toMatchObject({ status: S.Succeeded, attempts: 1, owner: { workerId: aId } });
    await stopWorker(b);
    expect(await rows('starts', id)).toBe(1);
  });

  it('case 4: a timed-out handler that ignores its abort: the retry is not due before HeartbeatTimeout', async () => {
    const a = spawn();
    await a.ready;
    const id = await ingestOne('stubborn', { gate: 'g-timeout' }, { timeoutMs: 300, maxRetries: 1 });
    const retrying = await waitFor(async () => {
      const now = await task(id);
      const entry = now.history.find((h) => h.to === S.Retrying && h.from === S.Running);
      return entry ? { entry, nextAttemptAt: now.nextAttemptAt } : undefined;
    }, 'the attempt timed out');
    const wait = retrying.nextAttemptAt.getTime() - retrying.entry.at.getTime();
    expect(wait).toBeGreaterThanOrEqual(settings.HeartbeatTimeout);
    await openGate('g-timeout');
    await waitFor(async () => (await task(id)).status === S.Succeeded, 'the retry Succeeded');
    await stopWorker(a);
  });
});
