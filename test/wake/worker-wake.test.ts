/**
 * Each source of claimable work wakes an idle worker. The worker polls only after PollingInterval / 64
 * (here about a minute) and there is no sweep, so a task that starts within the test's wait was started
 * by its wake-up. Lost, duplicated and early wake-ups change nothing but latency.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { builtinHandlers, HandlerRegistry } from '../../lib/handlers/index.js';
import { taskStoreOptions } from '../../lib/store/create.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { announcingStore, createWakeHub, type WakeHub, type WakeSource } from '../../lib/wake/index.js';
import { createWorker, type TaskOutcome, type Worker } from '../../lib/worker/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { testConfig, waitFor } from '../worker/helpers.js';

const HOUR = 3_600_000;
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  t: TestDb;
  hub: WakeHub;
  raw: MongoTaskStore;
  store: TaskStore;
  worker(o?: { wake?: WakeSource; pollingInterval?: number }): Promise<{ w: Worker; outcomes: TaskOutcome[] }>;
}

async function setup(): Promise<Setup> {
  const t = await openTestDb('wake');
  const config = testConfig({
    PollingInterval: HOUR,
    HeartbeatInterval: 200,
    RetryBaseDelay: 300,
    RetryMaxDelay: 300,
    ShutdownTimeout: 0,
  });
  const hub = createWakeHub(t.db, { database: false });
  const raw = new MongoTaskStore(t.db, taskStoreOptions(config));
  await raw.ensureIndexes();
  const store = announcingStore(raw, hub);
  cleanups.push(
    () => t.drop(),
    () => hub.close(),
  );
  return {
    t,
    hub,
    raw,
    store,
    async worker(o = {}) {
      const outcomes: TaskOutcome[] = [];
      const w = createWorker({
        store,
        handlers: new HandlerRegistry(builtinHandlers()),
        settings: { ...config.Worker, PollingInterval: o.pollingInterval ?? HOUR },
        abortGraceMs: 50,
        wake: o.wake ?? hub,
        hooks: { onTaskFinished: (x) => void outcomes.push(x) },
      });
      w.start();
      cleanups.push(() => w.stop('stopped', { timeoutMs: 0 }));
      await sleep(300); // its first claim found nothing: from now on it waits for a wake-up
      return { w, outcomes };
    },
  };
}

let seq = 0;
const key = () => `k-${Date.now()}-${seq++}`;

async function until(store: TaskStore, id: string, ok: (t: Task) => boolean, what: string, limitMs = 20_000) {
  return waitFor(
    async () => {
      const task = await store.get(id);
      return task && ok(task) ? task : undefined;
    },
    what,
    limitMs,
  );
}
const succeeded = (t: Task) => t.status === S.Succeeded;
/** When the task's n-th claim happened (its Assigned history entries). */
const claimedAt = (t: Task, n = 1) => t.history.filter((h) => h.to === S.Assigned)[n - 1]!.at.getTime();

describe('every source of claimable work wakes an idle worker', () => {
  it('a created task (API, ingest): one wake-up per stored batch', async () => {
    const s = await setup();
    await s.worker();
    const res = await s.store.ingest([
      { type: 'echo', payload: 1, idempotencyKey: key() },
      { type: 'echo', payload: 2, idempotencyKey: key() },
    ]);
    for (const item of res.items) expect((await until(s.store, item.taskId, succeeded, 'echo')).attempts).toBe(1);
  });

  it('notBefore: woken at its time, never claimed before it (an early wake-up finds nothing)', async () => {
    const s = await setup();
    await s.worker();
    const notBefore = new Date(Date.now() + 500);
    const res = await s.store.ingest([{ type: 'echo', payload: 'later', idempotencyKey: key(), notBefore }]);
    await s.hub.announce({ count: 1 }); // early: nothing is claimable yet
    const task = await until(s.store, res.items[0]!.taskId, succeeded, 'the delayed task');
    expect(claimedAt(task)).toBeGreaterThanOrEqual(notBefore.getTime());
  });

  it("a retry's backoff: woken when it ends", async () => {
    const s = await setup();
    await s.worker();
    const res = await s.store.ingest([{ type: 'fail', payload: { times: 1 }, idempotencyKey: key() }]);
    const task = await until(s.store, res.items[0]!.taskId, succeeded, 'the second attempt');
    expect(task.attempts).toBe(2);
    expect(claimedAt(task, 2)).toBeGreaterThanOrEqual(task.errors[0]!.at.getTime());
  });

  it("an operator's retry", async () => {
    const s = await setup();
    await s.worker();
    const res = await s.store.ingest([{ type: 'fail', payload: { times: 1 }, idempotencyKey: key(), maxRetries: 0 }]);
    const id = res.items[0]!.taskId;
    await until(s.store, id, (t) => t.status === S.Error, 'the failure');
    await s.store.retry(id, { by: 'operator' });
    expect((await until(s.store, id, succeeded, 'the retried task')).attempts).toBe(2);
  });

  it('a release at shutdown wakes another worker', async () => {
    const s = await setup();
    const a = await s.worker();
    const res = await s.store.ingest([{ type: 'sleep', payload: { ms: 60_000 }, idempotencyKey: key() }]);
    const id = res.items[0]!.taskId;
    await until(s.store, id, (t) => t.status === S.Running && t.owner?.workerId === a.w.id, 'a runs it');
    const b = await s.worker();
    await a.w.stop('stopped', { timeoutMs: 0 });
    const task = await until(s.store, id, (t) => t.status === S.Running && t.owner?.workerId === b.w.id, 'b runs it');
    expect(task.history.some((h) => h.to === S.Queued && h.by === a.w.id)).toBe(true);
  });

  it('a reclaim wakes a worker when the backoff ends', async () => {
    const s = await setup();
    await s.raw.ingest([{ type: 'echo', payload: 'orphan', idempotencyKey: key() }]);
    const [claimed] = await s.raw.claim('dead-worker', { limit: 1 });
    await s.worker();
    // The cutoff is the server's time as this process estimates it (ServerClock): leave it room.
    await sleep(300);
    expect((await s.store.reclaim({ heartbeatTimeoutMs: 100 })).retried).toBe(1);
    const task = await until(s.store, claimed!.task._id, succeeded, 'the reclaimed task');
    expect(task.attempts).toBe(2);
  });
  it("an ordering key's next task, when the head ends without any worker finishing it (operator cancel)", async () => {
    const s = await setup();
    await s.worker();
    const k = key();
    const later = new Date(Date.now() + HOUR);
    const res = await s.store.ingest([
      { type: 'echo', payload: 'head', idempotencyKey: key(), orderingKey: k, notBefore: later },
      { type: 'echo', payload: 'next', idempotencyKey: key(), orderingKey: k },
    ]);
    const [head, next] = res.items.map((i) => i.taskId);
    await sleep(300);
    expect((await s.store.get(next!))?.status).toBe(S.Queued); // held behind its head
    expect((await s.store.cancel(head!, { by: 'operator' })).outcome).toBe('cancelled');
    expect((await until(s.store, next!, succeeded, "the key's next task")).attempts).toBe(1);
  });
});

describe('wake-ups are hints', () => {
  it('lost: with a channel that never delivers, polling still runs the task', async () => {
    const s = await setup();
    const silent: WakeSource = { subscribe: () => () => undefined };
    await s.worker({ wake: silent, pollingInterval: 200 });
    const res = await s.store.ingest([{ type: 'echo', payload: 'polled', idempotencyKey: key() }]);
    expect((await until(s.store, res.items[0]!.taskId, succeeded, 'the polled task')).attempts).toBe(1);
  });

  it('undercounted: a wake-up for one task while five are claimable runs all five', async () => {
    const s = await setup();
    await s.worker();
    // Stored behind the announcing store's back: only the hint below says anything, and it says one.
    const res = await s.raw.ingest(
      Array.from({ length: 5 }, (_, i) => ({ type: 'echo', payload: i, idempotencyKey: key() })),
    );
    await s.hub.announce({ count: 1 });
    for (const item of res.items) expect((await until(s.store, item.taskId, succeeded, 'echo')).attempts).toBe(1);
  });

  it('duplicated: many wake-ups for one task run it once', async () => {
    const s = await setup();
    const a = await s.worker();
    const b = await s.worker();
    const res = await s.store.ingest([{ type: 'echo', payload: 'once', idempotencyKey: key() }]);
    for (let i = 0; i < 20; i++) await s.hub.announce({ count: 1 });
    const id = res.items[0]!.taskId;
    const task = await until(s.store, id, succeeded, 'the task');
    await sleep(200);
    expect(task.attempts).toBe(1);
    expect([...a.outcomes, ...b.outcomes].filter((o) => o.taskId === id)).toHaveLength(1);
  });
});
