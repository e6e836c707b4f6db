/**
 * Experiment: the same per-task state change written three ways on mongo-java-server, to see what a
 * write costs per document vs per round trip: updateOne per task (16 at once), one bulkWrite of 16
 * updateOne operations, and one updateMany over 16 ids.
 * Run: npx tsx bench/probes/write-shapes.ts [docs]
 */
import { MongoClient, type AnyBulkWriteOperation, type Collection } from 'mongodb';
import { startMongoServer } from '../../tools/mongo-server.js';
import { stateChange, toTaskDocument } from '../../lib/store/mongo/writes.js';
import { taskIndexes } from '../../lib/store/mongo/indexes.js';
import type { Task } from '../../lib/tasks/model.js';

const docs = Number(process.argv[2] ?? 2_000);
const group = 16;
const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
const client = await new MongoClient(process.env.MONGODB_URI ?? server!.uri, { maxPoolSize: 100 }).connect();

async function fresh(): Promise<{ col: Collection<Task>; ids: string[] }> {
  const db = client.db(`exp_shapes_${Date.now()}_${Math.random().toString(16).slice(2, 8)}`);
  const col = db.collection<Task>('tasks');
  await col.createIndexes(taskIndexes.map((i) => ({ key: i.key, name: i.name })));
  const now = new Date();
  const all = Array.from({ length: docs }, (_, n) =>
    toTaskDocument({ type: 'noop', payload: { n }, idempotencyKey: `k${n}` }, now, { maxRetries: 3 }),
  );
  for (let i = 0; i < all.length; i += 500) await col.insertMany(all.slice(i, i + 500));
  return { col, ids: all.map((d) => d._id) };
}

const groups = (ids: string[]) =>
  Array.from({ length: Math.ceil(ids.length / group) }, (_, i) => ids.slice(i * group, (i + 1) * group));
const update = () =>
  stateChange(22, { now: new Date(), from: 21, by: 'w', set: { startedAt: new Date(), heartbeatAt: new Date() } });

async function run(name: string, fn: (col: Collection<Task>, ids: string[]) => Promise<unknown>): Promise<void> {
  const { col, ids } = await fresh();
  const t0 = performance.now();
  await fn(col, ids);
  const ms = performance.now() - t0;
  console.log(`${name.padEnd(60)} ${((docs / ms) * 1000).toFixed(0).padStart(6)} docs/s`);
  await col.db.dropDatabase();
}

try {
  for (let rep = 0; rep < 2; rep++) {
    await run('updateOne per doc, 16 in flight', async (col, ids) => {
      for (const g of groups(ids))
        await Promise.all(g.map((id) => col.updateOne({ _id: id, status: { $in: [20] } }, update())));
    });
    await run('bulkWrite of 16 updateOne (unordered), 1 in flight', async (col, ids) => {
      for (const g of groups(ids))
        await col.bulkWrite(
          g.map((id): AnyBulkWriteOperation<Task> => ({
            updateOne: { filter: { _id: id, status: { $in: [20] } }, update: update() },
          })),
          { ordered: false },
        );
    });
    await run('updateMany over 16 ids, 1 in flight', async (col, ids) => {
      for (const g of groups(ids)) await col.updateMany({ _id: { $in: g }, status: { $in: [20] } }, update());
    });
    await run('sorted findOneAndUpdate claim, 16 in flight', async (col, ids) => {
      for (const g of groups(ids)) {
        await Promise.all(
          g.map(() =>
            col.findOneAndUpdate(
              { status: { $in: [20, 25] }, nextAttemptAt: { $lte: new Date() } },
              { $set: { status: 21 } },
              { sort: { priority: -1, createdAt: 1 } },
            ),
          ),
        );
      }
    });
    await run('find 16 ids sorted + updateMany + find by ids, 1 in flight', async (col, ids) => {
      for (let i = 0; i < ids.length; i += group) {
        const c = await col
          .find({ status: { $in: [20, 25] }, nextAttemptAt: { $lte: new Date() } }, { projection: { _id: 1 } })
          .sort({ priority: -1, createdAt: 1 })
          .limit(group)
          .toArray();
        await col.updateMany(
          { _id: { $in: c.map((d) => d._id) }, status: { $in: [20, 25] } },
          { $set: { status: 21 } },
        );
        await col.find({ _id: { $in: c.map((d) => d._id) } }).toArray();
      }
    });
  }
} finally {
  await client.close();
  await server?.stop();
}
