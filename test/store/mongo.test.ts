import { MongoClient, MongoNetworkError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { sharedAnswers } from '../../lib/store/mongo/write-outcomes.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb } from '../support/db.js';
import { describeTaskStoreConformance } from './conformance.js';

describeTaskStoreConformance('MongoDB', async () => {
  const t = await openTestDb('store');
  const store = new MongoTaskStore(t.db, { maxRetries: 3, backoff: { baseMs: 1000, capMs: 60_000 } });
  return {
    store,
    blockingStore: () =>
      new MongoTaskStore(t.db, { maxRetries: 3, backoff: { baseMs: 1000, capMs: 60_000 }, orderingOnFailure: 'block' }),
    reset: async () => {
      await store.tasks.deleteMany({});
      await t.db.collection('ordering_keys').deleteMany({});
    },
    age: async (id, f) => {
      const doc = await store.tasks.findOne({ _id: id });
      if (!doc) throw new Error(`no task ${id}`);
      const back = (d: Date | null | undefined, ms?: number) => (ms && d ? new Date(d.getTime() - ms) : d);
      await store.tasks.updateOne(
        { _id: id },
        {
          $set: {
            heartbeatAt: back(doc.heartbeatAt, f.heartbeatMs) ?? null,
            updatedAt: back(doc.updatedAt, f.updatedMs)!,
            nextAttemptAt: back(doc.nextAttemptAt, f.nextAttemptMs)!,
            createdAt: back(doc.createdAt, f.createdMs)!,
          },
        },
      );
    },
    // A $push onto a field that is not an array is refused for that document only, as a document over 16 MiB is.
    refuseWrites: async (id) => {
      await store.tasks.updateOne({ _id: id }, { $set: { history: 'not-an-array' as never } });
    },
    close: () => t.drop(),
  };
});

describe('MongoDB store: lease writes of one turn share a round trip', () => {
  it('16 starts and 16 completes of one batch claim are one updateMany each, every task owned', async () => {
    const t = await openTestDb('store_rt');
    const client = await new MongoClient(t.uri, { monitorCommands: true }).connect();
    try {
      const store = new MongoTaskStore(client.db(t.name));
      await store.ensureIndexes();
      await store.ingest(Array.from({ length: 16 }, (_, n) => ({ type: 'a', payload: { n } })));
      const claimed = await store.claim('w1', { limit: 16 });
      expect(claimed).toHaveLength(16);
      const commands: string[] = [];
      client.on('commandStarted', (e) => {
        if (e.commandName === 'update')
          commands.push(`update of ${e.command.updates.length}${e.command.updates[0].multi ? ' (multi)' : ''}`);
        else if (e.commandName !== 'isMaster' && e.commandName !== 'hello') commands.push(e.commandName);
      });
      expect((await Promise.all(claimed.map((c) => store.start(c.lease)))).every((r) => r.owned)).toBe(true);
      expect((await Promise.all(claimed.map((c) => store.complete(c.lease)))).every((r) => r.owned)).toBe(true);
      // One statement for the set each (one token, one worker), and nothing read back: every task matched.
      expect(commands).toEqual(['update of 1 (multi)', 'update of 1 (multi)']);
      expect((await store.stats()).counts.Succeeded).toBe(16);
    } finally {
      await client.close();
      await t.drop();
    }
  });

  it('a result the server refuses fails only its own write; result-less completions of the same turn succeed', async () => {
    const t = await openTestDb('store_big');
    const store = new MongoTaskStore(t.db);
    try {
      await store.ingest(Array.from({ length: 3 }, (_, n) => ({ type: 'a', payload: { n } })));
      const claimed = await store.claim('w1', { limit: 3 });
      await Promise.all(claimed.map((c) => store.start(c.lease)));
      const tooLarge = 'x'.repeat(17 * 1024 * 1024); // over MongoDB's 16 MB document limit
      const [big, ...rest] = await Promise.allSettled([
        store.complete(claimed[0]!.lease, tooLarge),
        ...claimed.slice(1).map((c) => store.complete(c.lease)),
      ]);
      expect(big!.status).toBe('rejected');
      expect(rest.map((r) => r.status === 'fulfilled' && r.value.owned)).toEqual([true, true]);
      expect(await store.get(claimed[0]!.task._id)).toMatchObject({ status: S.Running });
    } finally {
      await t.drop();
    }
  });
});

describe('MongoDB store: answers of a shared lease write that threw', () => {
  const items = [
    { lease: { taskId: 'a' }, w: 'wa' },
    { lease: { taskId: 'b' }, w: 'wb' },
  ];
  const entry = (w: string) => ({ from: S.Assigned, to: S.Running, at: new Date(0), w });

  it('an error that may have stopped the command: a caller whose write id landed is owned, the other gets the error', () => {
    const failure = new MongoNetworkError('connection reset');
    const answers = sharedAnswers(
      items,
      [
        { _id: 'a', history: [entry('wa')] },
        { _id: 'b', history: [entry('other')] },
      ],
      failure,
    );
    expect(answers).toEqual([
      { ok: true, value: { owned: true } },
      { ok: false, error: failure },
    ]);
  });

  it('no error: a caller whose write id is not on its task is not owned', () => {
    const answers = sharedAnswers(items, [
      { _id: 'a', history: [entry('wa')] },
      { _id: 'b', history: [entry('other')] },
    ]);
    expect(answers).toEqual([
      { ok: true, value: { owned: true } },
      { ok: true, value: { owned: false } },
    ]);
  });
});

describe('MongoDB store: ordering keys after a finisher died', () => {
  it('a head that finished without handing its turn on (the process died in between) is handed on by the reclaimer', async () => {
    const t = await openTestDb('order_repair');
    try {
      const store = new MongoTaskStore(t.db, { maxRetries: 0 });
      await store.ensureIndexes();
      await store.ingest([0, 1].map((n) => ({ type: 'o', orderingKey: 'k', payload: { n } })));
      const [head] = await store.claim('w1', { limit: 10 });
      // The task's own write, as complete() sends it, but no hand-over after it: the worker died there.
      await store.tasks.updateOne({ _id: head!.task._id }, { $set: { status: S.Succeeded } });
      expect(await store.claim('w1', { limit: 10 })).toEqual([]);
      // Not before the key has been still for the heartbeat timeout; then once.
      expect((await store.reclaim({ heartbeatTimeoutMs: 60_000 })).orderingKeysRepaired).toBeUndefined();
      const later = new Date(Date.now() + 120_000);
      expect(await store.reclaim({ heartbeatTimeoutMs: 60_000, now: later })).toMatchObject({
        orderingKeysRepaired: 1,
      });
      const [next] = await store.claim('w1', { limit: 10 });
      expect(next!.task.payload).toEqual({ n: 1 });
      expect((await store.reclaim({ heartbeatTimeoutMs: 60_000, now: later })).orderingKeysRepaired).toBeUndefined();
    } finally {
      await t.drop();
    }
  });
});
