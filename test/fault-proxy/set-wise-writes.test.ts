/**
 * The store's set-wise writes, checked against the database (and, for lost replies, through the fault proxy):
 * - a batch claim builds what it won from the candidates it read (lib/store/mongo/post-image.ts) only when the
 *   claim matched each of them at the version read; the image equals the stored document;
 * - starts and result-less completions of one token go as one updateMany (lib/store/mongo/lease-batch.ts);
 *   each caller still gets its own answer, and a caller whose write and read-back were both lost is told on
 *   its retry (same write id) that it owns its task, with the write applied once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MongoNetworkError } from 'mongodb';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openProxiedDb, type ProxiedDb } from './support.js';

/** A task's stored fields as a claimed image must show them; heartbeatAt is the server's own time there. */
const comparable = (t: Task) => ({ ...t, heartbeatAt: undefined });

describe('set-wise claim and lease writes', () => {
  let t: ProxiedDb;
  let store: MongoTaskStore;
  /** The same database, not through the proxy: to change or check documents behind the store's back. */
  let direct: MongoTaskStore;

  beforeEach(async () => {
    t = await openProxiedDb('fp_setwise');
    const client = await t.client({ serverSelectionTimeoutMS: 5_000 });
    store = new MongoTaskStore(client.db(t.direct.name));
    direct = new MongoTaskStore(t.direct.db);
    await direct.ensureIndexes();
  });
  afterEach(() => t.close());

  it('a batch claim that took every candidate returns them as stored, without reading them back', async () => {
    await store.ingest(
      Array.from({ length: 16 }, (_, n) => ({
        type: n % 2 ? 'a' : 'b',
        payload: { n, nested: { list: [n, { deep: true }], at: new Date(0) } },
        ...(n % 3 === 0 ? { priority: 5, maxRetries: 7 } : {}),
      })),
    );
    const findsBefore = (await t.proxy.counters()).requests.byCommand.find ?? 0;
    const claimed = await store.claim('w1', { limit: 16 });
    expect(claimed).toHaveLength(16);
    const finds = ((await t.proxy.counters()).requests.byCommand.find ?? 0) - findsBefore;
    for (const c of claimed) {
      const stored = await direct.get(c.task._id);
      expect(comparable(c.task)).toEqual(comparable(stored!));
      expect(c.task.heartbeatAt).toBeInstanceOf(Date);
      expect(c.lease).toMatchObject({ leaseToken: stored!.owner!.leaseToken, attempt: 1, workerId: 'w1' });
    }
    // One read of the candidates; the direct reads above do not go through the proxy.
    expect(finds).toBe(1);
  });

  it('a candidate changed between the read and the claim is not taken as read: the claim gets it as it is now', async () => {
    await store.ingest(Array.from({ length: 4 }, (_, n) => ({ type: 'a', payload: { n } })));
    const first = (await direct.tasks.find({}).sort({ createdAt: 1 }).limit(1).toArray())[0]!;
    // Hold the claim's updateMany until another writer has changed a candidate it read.
    await t.proxy.addRule({
      id: 'hold',
      match: { command: 'update', collection: 'tasks' },
      fault: { kind: 'delayRequest', ms: 60_000 },
      count: 1,
    });
    const claiming = store.claim('w1', { limit: 4 });
    while ((await t.proxy.counters()).rules.find((r) => r.id === 'hold')?.injected !== 1)
      await new Promise((r) => setTimeout(r, 10));
    await direct.tasks.updateOne({ _id: first._id }, { $set: { priority: 9 }, $inc: { version: 1 } });
    await t.proxy.heal();
    const claimed = await claiming;
    expect(claimed.map((c) => c.task._id).sort()).toEqual(
      (await direct.list({}, { limit: 10 })).tasks.map((x) => x._id).sort(),
    );
    for (const c of claimed) expect(comparable(c.task)).toEqual(comparable((await direct.get(c.task._id))!));
    expect(claimed.find((c) => c.task._id === first._id)!.task.priority).toBe(9);
  });

  it('one updateMany for the set; a task the caller lost is answered "not owned" for that caller only', async () => {
    await store.ingest(Array.from({ length: 3 }, (_, n) => ({ type: 'a', payload: { n } })));
    const claimed = await store.claim('w1', { limit: 3 });
    await Promise.all(claimed.map((c) => store.start(c.lease)));
    const lost = claimed[1]!;
    await direct.tasks.updateOne({ _id: lost.task._id }, { $set: { 'owner.leaseToken': 'someone-else' } });
    const answers = await Promise.all(claimed.map((c) => store.complete(c.lease)));
    expect(answers.map((a) => a.owned)).toEqual([true, false, true]);
    const statuses = await Promise.all(claimed.map(async (c) => (await direct.get(c.task._id))!.status));
    expect(statuses).toEqual([S.Succeeded, S.Running, S.Succeeded]);
  });

  it('write and read-back both lost: each caller retries with its own write id and owns its task, started once', async () => {
    await store.ingest(Array.from({ length: 4 }, (_, n) => ({ type: 'a', payload: { n } })));
    const claimed = await store.claim('w1', { limit: 4 });
    await t.proxy.addRule({
      match: { command: 'update', collection: 'tasks' },
      fault: { kind: 'dropReply' },
      count: 1,
    });
    // The driver retries a read once on a new connection: lose both.
    await t.proxy.addRule({ match: { command: 'find', collection: 'tasks' }, fault: { kind: 'dropReply' }, count: 2 });
    const ids = claimed.map((_, i) => `write-${i}`);
    const first = await Promise.allSettled(claimed.map((c, i) => store.start(c.lease, { writeId: ids[i]! })));
    for (const r of first) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(MongoNetworkError);
    }
    // It applied: the tasks are Running under the claim's token.
    for (const c of claimed) expect((await direct.get(c.task._id))!.status).toBe(S.Running);
    const retried = await Promise.all(claimed.map((c, i) => store.start(c.lease, { writeId: ids[i]! })));
    expect(retried.map((r) => r.owned)).toEqual([true, true, true, true]);
    for (const c of claimed) {
      const history = (await direct.get(c.task._id))!.history.filter((h) => h.to === S.Running);
      expect(history).toHaveLength(1);
    }
  });

  it('a document the server refuses inside the set fails its own caller only', async () => {
    await store.ingest(Array.from({ length: 3 }, (_, n) => ({ type: 'a', payload: { n } })));
    const claimed = await store.claim('w1', { limit: 3 });
    const refused = claimed[0]!;
    // A $push onto a field that is not an array is refused for that document, as a document over 16 MiB is.
    await direct.tasks.updateOne({ _id: refused.task._id }, { $set: { history: 'not-an-array' as never } });
    const outcomes = await Promise.allSettled(claimed.map((c) => store.start(c.lease)));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(outcomes.slice(1).map((o) => o.status === 'fulfilled' && o.value.owned)).toEqual([true, true]);
    const statuses = await Promise.all(claimed.map(async (c) => (await direct.get(c.task._id))!.status));
    expect(statuses).toEqual([S.Assigned, S.Running, S.Running]);
  });
});
