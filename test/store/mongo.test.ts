import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { openTestDb } from '../support/db.js';
import { describeTaskStoreConformance } from './conformance.js';

describeTaskStoreConformance('MongoDB', async () => {
  const t = await openTestDb('store');
  const store = new MongoTaskStore(t.db, { maxRetries: 3, backoff: { baseMs: 1000, capMs: 60_000 } });
  return {
    store,
    reset: async () => { await store.tasks.deleteMany({}); },
    age: async (id, f) => {
      const doc = await store.tasks.findOne({ _id: id });
      if (!doc) throw new Error(`no task ${id}`);
      const back = (d: Date | null | undefined, ms?: number) => (ms && d ? new Date(d.getTime() - ms) : d);
      await store.tasks.updateOne({ _id: id }, { $set: {
        heartbeatAt: back(doc.heartbeatAt, f.heartbeatMs) ?? null,
        updatedAt: back(doc.updatedAt, f.updatedMs)!,
        nextAttemptAt: back(doc.nextAttemptAt, f.nextAttemptMs)!,
        createdAt: back(doc.createdAt, f.createdMs)!,
      } });
    },
    close: () => t.drop(),
  };
});
