/**
 * Experiment: what one write costs on mongo-java-server, by the shape of the collection and of the
 * update: the task collection with and without its indexes, our state-change update (status, version,
 * history $push/$slice) versus a plain $set. Run: npx tsx bench/probes/server-costs.ts [docs] [concurrency]
 */
import { MongoClient, type Collection, type Document } from 'mongodb';
import { startMongoServer } from '../../tools/mongo-server.js';
import { stateChange, toTaskDocument } from '../../lib/store/mongo/writes.js';
import { taskIndexes } from '../../lib/store/mongo/indexes.js';
import type { Task } from '../../lib/tasks/model.js';

const docs = Number(process.argv[2] ?? 1_000);
const concurrency = Number(process.argv[3] ?? 16);
const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
const client = await new MongoClient(process.env.MONGODB_URI ?? server!.uri, { maxPoolSize: 100 }).connect();

async function pool(ids: string[], fn: (id: string) => Promise<unknown>): Promise<number> {
  let i = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < ids.length) await fn(ids[i++]!);
    }),
  );
  return performance.now() - t0;
}

async function fresh(name: string, indexes: boolean): Promise<{ col: Collection<Task>; ids: string[] }> {
  const db = client.db(`exp_${name}_${Date.now()}`);
  const col = db.collection<Task>('tasks');
  if (indexes) await col.createIndexes(taskIndexes.map((i) => ({ key: i.key, name: i.name })));
  const now = new Date();
  const all = Array.from({ length: docs }, (_, n) =>
    toTaskDocument({ type: 'noop', payload: { n }, idempotencyKey: `k${n}` }, now, { maxRetries: 3 }),
  );
  await col.insertMany(all);
  return { col, ids: all.map((d) => d._id) };
}

const report = (what: string, ms: number) =>
  console.log(`${what.padEnd(70)} ${((docs / ms) * 1000).toFixed(0).padStart(6)} updates/s`);

try {
  for (const indexes of [false, true]) {
    const tag = indexes ? 'with the 10 task indexes' : 'no secondary index';
    {
      const { col, ids } = await fresh('set', indexes);
      report(
        `plain $set by _id (${tag})`,
        await pool(ids, (id) =>
          col.updateOne({ _id: id }, { $set: { lockedAt: new Date() } as Partial<Task> & Document }),
        ),
      );
      await col.db.dropDatabase();
    }
    {
      const { col, ids } = await fresh('state', indexes);
      report(
        `state change (status, version, history $push) by _id (${tag})`,
        await pool(ids, (id) =>
          col.updateOne({ _id: id }, stateChange(22, { now: new Date(), set: { heartbeatAt: new Date() } })),
        ),
      );
      await col.db.dropDatabase();
    }
    {
      const { col, ids } = await fresh('guarded', indexes);
      report(
        `state change, lease-guarded filter (${tag})`,
        await pool(ids, (id) =>
          col.updateOne(
            { _id: id, 'owner.leaseToken': null, status: { $in: [20, 25] } },
            stateChange(22, { now: new Date() }),
          ),
        ),
      );
      await col.db.dropDatabase();
    }
  }
} finally {
  await client.close();
  await server?.stop();
}
