/**
 * Exactly-once under races (issue 19), against the real database: a cancel is never dropped by a lease
 * ending, the handler's retry limit is the one every path uses, one refused document does not stall a
 * reclaim pass, stored errors and progress are bounded, two holders of one task are told apart.
 * The multi-process cases (worker deaths, clock skew, a handler that ignores its abort) are in
 * test/worker/races.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storedLimits } from '../../lib/store/limits.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { leaseKey } from '../../lib/store/task-store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';

let t: TestDb;
let store: MongoTaskStore;

/** Moves a task's heartbeat back by `ms` (the suite never sleeps). */
async function ageHeartbeat(id: string, ms: number): Promise<void> {
  const doc = await store.tasks.findOne({ _id: id });
  await store.tasks.updateOne({ _id: id }, { $set: { heartbeatAt: new Date(doc!.heartbeatAt!.getTime() - ms) } });
}

/** A running task (claimed and started by `worker`) whose operator asked to cancel it: the answer is `requested`. */
async function runningAndCancelRequested(worker = 'w1', maxRetries = 3) {
  await store.ingest([{ type: 'a', payload: {}, maxRetries }]);
  const [c] = await store.claim(worker);
  expect((await store.start(c!.lease)).owned).toBe(true);
  expect((await store.cancel(c!.task._id)).outcome).toBe('requested');
  return c!;
}

beforeAll(async () => {
  t = await openTestDb('races');
  store = new MongoTaskStore(t.db, { maxRetries: 3, backoff: { baseMs: 1, capMs: 1 } });
  await store.ensureIndexes();
});
afterAll(async () => t.drop());
beforeEach(async () => {
  await store.tasks.deleteMany({});
});

describe('case 1: a cancel request is never dropped when the lease ends another way', () => {
  it('a retryable failure ends the task Cancelled, not Retrying; nobody claims it again', async () => {
    const c = await runningAndCancelRequested();
    expect(await store.fail(c.lease, { message: 'transient' })).toEqual({ owned: true, status: S.Cancelled });
    expect(await store.get(c.task._id)).toMatchObject({ status: S.Cancelled, cancelRequested: true });
    expect(await store.claim('w2')).toEqual([]);
  });

  it('a timeout ends it Cancelled', async () => {
    const c = await runningAndCancelRequested();
    expect(await store.timedOut(c.lease, { message: 'slow' })).toEqual({ owned: true, status: S.Cancelled });
    expect(await store.claim('w2')).toEqual([]);
  });

  it('a shutdown release ends it Cancelled', async () => {
    const c = await runningAndCancelRequested();
    expect(await store.release(c.lease, 'worker shutting down')).toEqual({ owned: true, status: S.Cancelled });
    expect(await store.claim('w2')).toEqual([]);
    expect((await store.get(c.task._id))!.status).toBe(S.Cancelled);
  });

  it('the reclaimer ends a stalled, cancel-requested task Cancelled', async () => {
    const c = await runningAndCancelRequested();
    await ageHeartbeat(c.task._id, 60_000);
    const r = await store.reclaim({ heartbeatTimeoutMs: 30_000 });
    expect(r).toMatchObject({ found: 1, retried: 0, cancelled: 1, failed: 0, taskIds: [c.task._id] });
    expect(await store.get(c.task._id)).toMatchObject({ status: S.Cancelled, owner: null });
    expect(await store.claim('w2')).toEqual([]);
  });

  it('a retried fail or release with the same write id is still answered Cancelled', async () => {
    const c = await runningAndCancelRequested();
    const once = { writeId: 'end-1' };
    expect(await store.release(c.lease, 'stopping', once)).toEqual({ owned: true, status: S.Cancelled });
    expect(await store.release(c.lease, 'stopping', once)).toEqual({ owned: true, status: S.Cancelled });
    expect(await store.fail(c.lease, { message: 'late' }, { writeId: 'other' })).toEqual({ owned: false });
  });

  it('an operator sending a cancelled task back to a claimable state clears the request; a claim never does', async () => {
    await store.ingest([{ type: 'a', payload: {} }]);
    const [c] = await store.claim('w1');
    await store.cancel(c!.task._id);
    await store.cancelled(c!.lease);
    const cancelled = (await store.get(c!.task._id))!;
    // An operator's versioned move back to Queued clears the request (it is a new decision to run it).
    await store.transition(c!.task._id, { expectedVersion: cancelled.version, to: S.Retrying });
    const [again] = await store.claim('w2');
    expect(again!.task.cancelRequested).toBe(false);
    // A flagged task that is claimable all the same (written by an older version) keeps its flag: its worker cancels it.
    await store.ingest([{ type: 'a', payload: { legacy: true } }]);
    await store.tasks.updateOne({ status: S.Queued }, { $set: { cancelRequested: true } });
    const [flagged] = await store.claim('w3');
    expect(flagged!.task.cancelRequested).toBe(true);
  });
});

describe("case 2: the handler's retry limit is the one every path uses", () => {
  it('start records the handler limit; the reclaimer then ends a "run at most once" task Timeout, not Retrying', async () => {
    await store.ingest([{ type: 'once', payload: {}, maxRetries: 5 }]);
    const [c] = await store.claim('w1');
    expect(await store.start(c!.lease, { maxRetries: 0 })).toEqual({ owned: true });
    expect((await store.get(c!.task._id))!.maxRetries).toBe(0);
    await ageHeartbeat(c!.task._id, 60_000);
    expect(await store.reclaim({ heartbeatTimeoutMs: 30_000 })).toMatchObject({ retried: 0, timedOut: 1 });
    expect(await store.get(c!.task._id)).toMatchObject({ status: S.Timeout, attempts: 1 });
  });

  it('starts of one turn each record their own limit', async () => {
    await store.ingest([
      { type: 'a', payload: { n: 1 }, maxRetries: 5 },
      { type: 'a', payload: { n: 2 }, maxRetries: 5 },
    ]);
    const [a, b] = await store.claim('w1', { limit: 2 });
    await Promise.all([store.start(a!.lease, { maxRetries: 0 }), store.start(b!.lease)]);
    expect((await store.get(a!.task._id))!.maxRetries).toBe(0);
    expect((await store.get(b!.task._id))!.maxRetries).toBe(5);
  });
});

describe('case 5: one bad document does not stall the reclaimer; stored sizes are bounded', () => {
  it('a task whose write the database refuses is counted and skipped; the others are reclaimed', async () => {
    await store.ingest([1, 2, 3].map((n) => ({ type: 'a', payload: { n } })));
    const claimed = await store.claim('w1', { limit: 3 });
    for (const c of claimed) await ageHeartbeat(c.task._id, 60_000);
    const bad = claimed[0]!.task._id;
    // A $push onto a field that is not an array is refused for that document only, as a document over 16 MiB is.
    await store.tasks.updateOne({ _id: bad }, { $set: { history: 'not-an-array' as never } });
    const r = await store.reclaim({ heartbeatTimeoutMs: 30_000 });
    expect(r).toMatchObject({ found: 3, retried: 2, failed: 1 });
    expect(r.failures.map((f) => f.taskId)).toEqual([bad]);
    for (const c of claimed.slice(1)) expect((await store.get(c.task._id))!.status).toBe(S.Retrying);
  });

  it('a huge error message, stack and progress are stored bounded, their truncation marked', async () => {
    await store.ingest([{ type: 'a', payload: {} }]);
    const [c] = await store.claim('w1');
    await store.start(c!.lease);
    const huge = 'é'.repeat(1_000_000);
    expect((await store.heartbeat(c!.lease, { progress: { log: huge } })).owned).toBe(true);
    const progress = (await store.get(c!.task._id))!.progress as { truncated: boolean; bytes: number };
    expect(progress).toMatchObject({ truncated: true });
    expect(progress.bytes).toBeGreaterThan(2_000_000);
    expect(await store.fail(c!.lease, { message: huge, stack: huge })).toMatchObject({ owned: true });
    const task = (await store.get(c!.task._id))!;
    const error = task.errors.at(-1)!;
    expect(Buffer.byteLength(error.message)).toBeLessThanOrEqual(storedLimits.errorMessageBytes);
    expect(Buffer.byteLength(error.stack!)).toBeLessThanOrEqual(storedLimits.errorStackBytes);
    expect(error.message.endsWith('[truncated]')).toBe(true);
    expect(Buffer.byteLength(task.history.at(-1)!.reason!)).toBeLessThanOrEqual(storedLimits.reasonBytes);
  });
});

describe('case 6: idempotency keys outlive purge', () => {
  it('a task purged by retention still makes a later insert with its key a duplicate', async () => {
    const first = await store.ingest([{ type: 'a', payload: {}, idempotencyKey: 'order-42' }]);
    const id = first.items[0]!.taskId;
    const [c] = await store.claim('w1');
    await store.start(c!.lease);
    await store.complete(c!.lease, 'done');
    const retention = { archiveAfterMs: 1, deleteAfterMs: 1, purgeAfterMs: 1, forgetKeysAfterMs: 86_400_000 };
    const hour = (n: number) => new Date(Date.now() + n * 3_600_000);
    for (const n of [1, 2, 3]) await store.applyRetention({ ...retention, now: hour(n) });
    expect(await store.get(id)).toBeNull();
    const again = await store.ingest([
      { type: 'a', payload: {}, idempotencyKey: 'order-42' },
      { type: 'a', payload: {}, idempotencyKey: 'order-43' },
    ]);
    expect(again).toMatchObject({ inserted: 1, duplicates: 1 });
    expect(again.items[0]).toEqual({ taskId: id, duplicate: true });
    expect(await store.get(id)).toBeNull();
    const kept = await t.db.collection('task_keys').findOne({ _id: id as never });
    expect(kept).toMatchObject({ idempotencyKey: 'order-42' });
    const ttl = (await t.db.collection('task_keys').listIndexes().toArray()).find((i) => i.name === 'forget_at');
    expect(ttl).toMatchObject({ key: { forgetAt: 1 }, expireAfterSeconds: 0 });
  });
});

describe('latent: two holders of one task are told apart', () => {
  it('heartbeatMany answers per lease (task id and token): the old lease is lost, the new one held', async () => {
    await store.ingest([{ type: 'a', payload: {}, maxRetries: 3 }]);
    const [old] = await store.claim('w1');
    await store.start(old!.lease);
    await ageHeartbeat(old!.task._id, 60_000);
    await store.reclaim({ heartbeatTimeoutMs: 30_000 });
    await store.tasks.updateOne({ _id: old!.task._id }, { $set: { nextAttemptAt: new Date(0) } });
    const [fresh] = await store.claim('w1');
    expect(fresh!.task._id).toBe(old!.task._id);
    const res = await store.heartbeatMany([fresh!.lease, old!.lease]);
    expect(res.get(leaseKey(old!.lease))).toEqual({ owned: false, cancelRequested: false });
    expect(res.get(leaseKey(fresh!.lease))).toEqual({ owned: true, cancelRequested: false });
  });
});
