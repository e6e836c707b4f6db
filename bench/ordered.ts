/**
 * Ordered keys: 2,000 no-op tasks spread over 50 ordering keys against the same 2,000 tasks unordered,
 * one in-process worker at concurrency 16, same run, fresh database each. The clock runs from the
 * worker's start to the last task's success (insertion is not measured). Target (issue 16): ordered at
 * least 50% of unordered. With 50 keys at most 50 tasks are claimable at once, and each finish hands
 * its key's turn over (a key read, a scan, a compare-and-set, a promote) before the next can be claimed.
 *
 * Run alone: `MONGODB_URI=... npx tsx bench/ordered.ts [tasks]` (without MONGODB_URI it starts mongo-java-server).
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { MongoClient, type Db } from 'mongodb';
import { z } from 'zod';
import { loadConfig } from '../lib/config/index.js';
import { createTaskStore } from '../lib/store/create.js';
import { defineHandler, HandlerRegistry } from '../lib/handlers/index.js';
import { createWorker } from '../lib/worker/index.js';
import { WorkerRegistry } from '../lib/worker-registry/index.js';
import { perSecond, type BenchResult } from './result.js';

export interface OrderedBenchOptions {
  mongoUri: string;
  tasks?: number;
  keys?: number;
  concurrency?: number;
}

const POLL_MS = 100;

export async function benchOrdered(opts: OrderedBenchOptions): Promise<BenchResult[]> {
  const tasks = opts.tasks ?? 2_000;
  const keys = opts.keys ?? 50;
  const concurrency = opts.concurrency ?? 16;
  const scenario = `ordered keys, ${tasks} no-op tasks, concurrency ${concurrency}`;
  const client = await new MongoClient(opts.mongoUri, { maxPoolSize: 100 }).connect();
  try {
    const unordered = await withDb(client, (db) => run(db, tasks, concurrency, undefined));
    const ordered = await withDb(client, (db) => run(db, tasks, concurrency, keys));
    const row = (system: string, ms: number): BenchResult => ({
      scenario,
      system,
      metric: 'throughput',
      value: perSecond(tasks, ms),
      unit: 'tasks/s',
    });
    return [row('taskmesh unordered', unordered), row(`taskmesh over ${keys} ordered keys`, ordered)];
  } finally {
    await client.close();
  }
}

async function withDb<T>(client: MongoClient, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = client.db(`bench_ordered_${randomBytes(4).toString('hex')}`);
  try {
    return await fn(db);
  } finally {
    await db.dropDatabase().catch(() => undefined);
  }
}

/** Milliseconds from the worker's start to the last success. */
async function run(db: Db, tasks: number, concurrency: number, keys: number | undefined): Promise<number> {
  const config = loadConfig({
    env: {},
    overrides: {
      Worker: { BatchSize: concurrency, Concurrency: concurrency, PollingInterval: POLL_MS, HeartbeatInterval: 30_000 },
    },
  });
  const store = createTaskStore(db, config);
  const registry = new WorkerRegistry(db);
  await store.ensureIndexes();
  await registry.ensureIndexes();
  for (let i = 0; i < tasks; i += 500) {
    const batch = Array.from({ length: Math.min(500, tasks - i) }, (_, j) => i + j);
    await store.ingest(
      batch.map((n) => ({ type: 'noop', payload: { n }, ...(keys ? { orderingKey: `key-${n % keys}` } : {}) })),
    );
  }
  const handlers = new HandlerRegistry([defineHandler({ type: 'noop', schema: z.unknown(), run: () => undefined })]);
  let done = 0;
  let finish!: () => void;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  const worker = createWorker({
    store,
    registry,
    handlers,
    settings: config.Worker,
    hooks: {
      onTaskFinished: (o) => {
        if (o.outcome === 'succeeded' && ++done === tasks) finish();
      },
    },
  });
  const t0 = performance.now();
  worker.start();
  await allDone;
  const ms = performance.now() - t0;
  await worker.stop();
  return ms;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { startMongoServer } = await import('../tools/mongo-server.js');
  const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
  try {
    const rows = await benchOrdered({
      mongoUri: process.env.MONGODB_URI ?? server!.uri,
      tasks: Number(process.argv[2] ?? 2_000),
    });
    for (const r of rows) console.log(JSON.stringify(r));
  } finally {
    await server?.stop();
  }
}
