/**
 * Exactly-once under races (issue 19), MongoDB specifics against the real database: one refused document
 * does not stall a reclaim pass, stored errors and progress are bounded, purged tasks' keys are kept.
 * The store contract (a cancel is never dropped by a lease ending, the handler's retry limit recorded at
 * start, heartbeat answers per lease) is in the conformance suite (./conformance.ts, run by ./mongo.test.ts);
 * the multi-process cases (worker deaths, clock skew, a handler that ignores its abort) in
 * test/worker/races.test.ts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { storedLimits } from '../../lib/store/limits.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';

let t: TestDb;
let store: MongoTaskStore;

/** Moves a task's heartbeat back by `ms` (the suite never sleeps). */
async function ageHeartbeat(id: string, ms: number): Promise<void> {
  const doc = await store.tasks.findOne({ _id: id });
  await store.tasks.updateOne({ _id: id }, { $set: { heartbeatAt: new Date(doc!.heartbeatAt!.getTime() - ms) } });
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

describe('case 1: a flagged task is never started', () => {
  it('a claim never clears a cancel request (a flagged claimable task written by an older version): its worker cancels it', async () => {
    await store.ingest([{ type: 'a', payload: { legacy: true } }]);
    await store.tasks.updateOne({ status: S.Queued }, { $set: { cancelRequested: true } });
    const [flagged] = await store.claim('w3');
    expect(flagged!.task.cancelRequested).toBe(true);
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
