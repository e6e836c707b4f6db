/**
 * Store claim+complete throughput beside the ceiling: a bare findOneAndUpdate loop doing the same
 * number of round trips per task (claim, start, complete) on the same server at the same concurrency.
 */
import { MongoClient, type Db } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { MongoTaskStore } from '../lib/store/mongo/store.js';
import { perSecond, timed, type BenchResult } from './result.js';

export interface StoreBenchOptions {
  mongoUri: string;
  tasks?: number;
  concurrency?: number;
  batch?: number;
}

async function freshDb(client: MongoClient): Promise<Db> {
  return client.db(`bench_${randomBytes(4).toString('hex')}`);
}

async function pool(concurrency: number, worker: () => Promise<boolean>): Promise<void> {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (await worker());
    }),
  );
}

export async function benchStore(
  opts: StoreBenchOptions,
): Promise<{ results: BenchResult[]; baselines: Record<string, string> }> {
  const tasks = opts.tasks ?? 2000;
  const concurrency = opts.concurrency ?? 16;
  const batch = opts.batch ?? 16;
  const client = await new MongoClient(opts.mongoUri, { maxPoolSize: Math.max(concurrency * 2, 20) }).connect();
  const results: BenchResult[] = [];
  const scenario = `claim+complete ${tasks} tasks, concurrency ${concurrency}`;
  try {
    // Warm the server's JIT and the driver's pool first, so the first system measured is not penalised.
    {
      const db = await freshDb(client);
      const store = new MongoTaskStore(db);
      await store.ingest(Array.from({ length: 500 }, (_, i) => ({ type: 'noop', idempotencyKey: `w${i}` })));
      await pool(concurrency, async () => {
        const [c] = await store.claim('warmup');
        if (!c) return false;
        await store.start(c.lease);
        await store.complete(c.lease, null);
        return true;
      });
      await db.dropDatabase();
    }
    // Ceiling: the same three round trips per task on the same documents (stored by the store's own
    // ingest), with the least update that does the job: no history, version, lease or result.
    {
      const db = await freshDb(client);
      await new MongoTaskStore(db).ingest(
        Array.from({ length: tasks }, (_, i) => ({ type: 'noop', idempotencyKey: `b${i}` })),
      );
      const col = db.collection<{ _id: string; status: number }>('tasks');
      const { ms } = await timed(() =>
        pool(concurrency, async () => {
          const doc = await col.findOneAndUpdate(
            { status: { $in: [20, 25] }, nextAttemptAt: { $lte: new Date() } },
            { $set: { status: 21, owner: 'w' } },
            { sort: { priority: -1, createdAt: 1 }, returnDocument: 'after' },
          );
          if (!doc) return false;
          await col.updateOne({ _id: doc._id, owner: 'w', status: 21 }, { $set: { status: 22 } });
          await col.updateOne({ _id: doc._id, owner: 'w', status: 22 }, { $set: { status: 23 } });
          return true;
        }),
      );
      results.push({
        scenario,
        system: 'bare findOneAndUpdate loop (ceiling)',
        metric: 'throughput',
        value: perSecond(tasks, ms),
        unit: 'tasks/s',
      });
      await db.dropDatabase();
    }
    // The store, one claim per round trip.
    {
      const db = await freshDb(client);
      const store = new MongoTaskStore(db);
      await store.ensureIndexes();
      await store.ingest(Array.from({ length: tasks }, (_, i) => ({ type: 'noop', idempotencyKey: `b${i}` })));
      const { ms } = await timed(() =>
        pool(concurrency, async () => {
          const [c] = await store.claim('bench');
          if (!c) return false;
          await store.start(c.lease);
          await store.complete(c.lease, null);
          return true;
        }),
      );
      results.push({
        scenario,
        system: 'taskmesh store (claim one)',
        metric: 'throughput',
        value: perSecond(tasks, ms),
        unit: 'tasks/s',
      });
      await db.dropDatabase();
    }
    // The store, batch claim: up to `batch` tasks per claim in a constant number of round trips.
    {
      const db = await freshDb(client);
      const store = new MongoTaskStore(db);
      await store.ensureIndexes();
      await store.ingest(Array.from({ length: tasks }, (_, i) => ({ type: 'noop', idempotencyKey: `b${i}` })));
      const loops = Math.max(1, Math.floor(concurrency / batch));
      const { ms } = await timed(() =>
        pool(loops, async () => {
          const claimed = await store.claim('bench', { limit: batch });
          if (claimed.length === 0) return false;
          await Promise.all(
            claimed.map(async (c) => {
              await store.start(c.lease);
              await store.complete(c.lease, null);
            }),
          );
          return true;
        }),
      );
      results.push({
        scenario,
        system: `taskmesh store (batch claim ${batch})`,
        metric: 'throughput',
        value: perSecond(tasks, ms),
        unit: 'tasks/s',
      });
      await db.dropDatabase();
    }
  } finally {
    await client.close();
  }
  return { results, baselines: { [scenario]: 'bare findOneAndUpdate loop (ceiling)' } };
}
