/**
 * Worker throughput: no-op tasks processed by one worker (in-process) at concurrency 1, 16 and 64,
 * beside Agenda 6 (MongoBackend) on the same server with the same no-op job and the same number of
 * jobs, in the same run. Each system gets a fresh database per scenario; the clock runs from the
 * worker's start to the last task's recorded success (insertion is not measured).
 *
 * Like for like: both poll every 100 ms, both lock at most `concurrency` tasks ahead (our BatchSize =
 * Concurrency = N; Agenda's concurrency = lockLimit = maxConcurrency = N), both keep finished jobs.
 * Agenda is listed first in each scenario, so `npm run bench` shows taskmesh as a ratio to it.
 *
 * Run alone: `MONGODB_URI=... npx tsx bench/worker.ts [tasks]` (without MONGODB_URI it starts mongo-java-server).
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda } from 'agenda';
import { MongoClient, type Db } from 'mongodb';
import { z } from 'zod';
import { loadConfig } from '../lib/config/index.js';
import { createTaskStore } from '../lib/store/create.js';
import { defineHandler, HandlerRegistry } from '../lib/handlers/index.js';
import { createWorker } from '../lib/worker/index.js';
import { WorkerRegistry } from '../lib/worker-registry/index.js';
import { perSecond, type BenchResult } from './result.js';

export interface WorkerBenchOptions {
  mongoUri: string;
  /** No-op tasks per scenario and system (default 1,000; the test server scans for sorted queries, so keep it to a few thousand). */
  tasks?: number;
  concurrencies?: readonly number[];
}

const POLL_MS = 100;

export async function benchWorker(opts: WorkerBenchOptions): Promise<BenchResult[]> {
  const tasks = opts.tasks ?? 1_000;
  const client = await new MongoClient(opts.mongoUri, { maxPoolSize: 100 }).connect();
  const results: BenchResult[] = [];
  try {
    for (const c of opts.concurrencies ?? [1, 16, 64]) {
      const scenario = `worker no-op throughput, ${tasks} tasks, concurrency ${c}`;
      const agenda = await withDb(client, (db) => runAgenda(db, tasks, c));
      results.push({
        scenario,
        system: 'agenda 6.2.6',
        metric: 'throughput',
        value: perSecond(tasks, agenda),
        unit: 'tasks/s',
      });
      const ours = await withDb(client, (db) => runTaskmesh(db, tasks, c));
      results.push({
        scenario,
        system: 'taskmesh',
        metric: 'throughput',
        value: perSecond(tasks, ours),
        unit: 'tasks/s',
      });
    }
  } finally {
    await client.close();
  }
  return results;
}

async function withDb<T>(client: MongoClient, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = client.db(`bench_worker_${randomBytes(4).toString('hex')}`);
  try {
    return await fn(db);
  } finally {
    await db.dropDatabase().catch(() => undefined);
  }
}

/** Returns the milliseconds from start to the last success. */
async function runTaskmesh(db: Db, tasks: number, concurrency: number): Promise<number> {
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
  for (let i = 0; i < tasks; i += 1_000) {
    await store.ingest(
      Array.from({ length: Math.min(1_000, tasks - i) }, (_, j) => ({ type: 'noop', payload: { n: i + j } })),
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

async function runAgenda(db: Db, tasks: number, concurrency: number): Promise<number> {
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: db, collection: 'agendaJobs' }),
    processEvery: POLL_MS,
    maxConcurrency: concurrency,
    defaultConcurrency: concurrency,
    lockLimit: concurrency,
    defaultLockLimit: concurrency,
  });
  // Agenda leaves a lockLifetime/2 timer per job behind (its liveness check); 10 s instead of the default
  // 10 min keeps a process that ran the bench from hanging for minutes before it exits.
  agenda.define('noop', async () => undefined, { concurrency, lockLimit: concurrency, lockLifetime: 10_000 });
  await agenda.ready;
  for (let i = 0; i < tasks; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, tasks - i) }, (_, j) => agenda.now('noop', { n: i + j })));
  }
  let done = 0;
  let finish!: () => void;
  const allDone = new Promise<void>((resolve) => (finish = resolve));
  agenda.on('success:noop', () => {
    if (++done === tasks) finish();
  });
  const t0 = performance.now();
  await agenda.start();
  await allDone;
  const ms = performance.now() - t0;
  await agenda.stop(false);
  return ms;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { startMongoServer } = await import('../tools/mongo-server.js');
  const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
  try {
    const rows = await benchWorker({
      mongoUri: process.env.MONGODB_URI ?? server!.uri,
      tasks: Number(process.argv[2] ?? 1_000),
    });
    for (const r of rows) console.log(JSON.stringify(r));
  } finally {
    await server?.stop();
  }
}
