/**
 * The announcing store is a TaskStore like any other: it passes the store conformance suite (with its
 * wake-ups going to a real hub: in process and through the database), so decorating the store changes
 * no write's outcome.
 */
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { announcingStore, createWakeHub, ensureWakeIndexes } from '../../lib/wake/index.js';
import { openTestDb } from '../support/db.js';
import { describeTaskStoreConformance } from '../store/conformance.js';

describeTaskStoreConformance('MongoDB, announcing wake-ups', async () => {
  const t = await openTestDb('annstore');
  const raw = new MongoTaskStore(t.db, { maxRetries: 3, backoff: { baseMs: 1000, capMs: 60_000 } });
  const hub = createWakeHub(t.db, {});
  await ensureWakeIndexes(t.db);
  let heard = 0;
  const off = hub.subscribe((w) => (heard += w.count));
  return {
    store: announcingStore(raw, hub),
    blockingStore: () =>
      announcingStore(
        new MongoTaskStore(t.db, {
          maxRetries: 3,
          backoff: { baseMs: 1000, capMs: 60_000 },
          orderingOnFailure: 'block',
        }),
        hub,
      ),
    reset: async () => {
      await raw.tasks.deleteMany({});
      await t.db.collection('ordering_keys').deleteMany({});
    },
    age: async (id, f) => {
      const doc = await raw.tasks.findOne({ _id: id });
      if (!doc) throw new Error(`no task ${id}`);
      const back = (d: Date | null | undefined, ms?: number) => (ms && d ? new Date(d.getTime() - ms) : d);
      await raw.tasks.updateOne(
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
    refuseWrites: async (id) => {
      await raw.tasks.updateOne({ _id: id }, { $set: { history: 'not-an-array' as never } });
    },
    close: async () => {
      off();
      await hub.close();
      if (heard === 0) throw new Error('the suite made tasks claimable, yet no wake-up was heard');
      await t.drop();
    },
  };
});
