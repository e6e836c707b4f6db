/**
 * Handler isolation: no-op and CPU-bound (20 ms of sha256) tasks at concurrency 16, run inline (on the
 * worker's event loop), in pooled worker threads and in pooled child processes (Handlers:Isolation;
 * pool size = concurrency), in one run. Inline is the baseline. Each run warms its pool up first (one
 * task per slot), then times from the measured tasks' insertion to the last one's recorded success; an
 * unmeasured inline run warms the server up first.
 * Targets (issue 14): thread >= 50% of inline for no-op; CPU-bound scales with cores under threads.
 *
 * Run alone: `npx tsx bench/isolation.ts` (without MONGODB_URI it starts mongo-java-server).
 */
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MongoClient, type Db } from 'mongodb';
import { loadConfig } from '../lib/config/index.js';
import { loadHandlers, type HandlerIsolation } from '../lib/handlers/index.js';
import { createTaskStore } from '../lib/store/create.js';
import { createWorker } from '../lib/worker/index.js';
import { WorkerRegistry } from '../lib/worker-registry/index.js';
import { perSecond, type BenchResult } from './result.js';
import { calibrateRounds } from './handlers.js';

const CONCURRENCY = 16;
const kinds: readonly HandlerIsolation[] = ['inline', 'thread', 'process'];
const handlerModule = fileURLToPath(new URL('./handlers.ts', import.meta.url));

export interface IsolationBenchOptions {
  mongoUri: string;
  noopTasks?: number;
  cpuTasks?: number;
  cpuMs?: number;
}

export async function benchIsolation(o: IsolationBenchOptions): Promise<BenchResult[]> {
  const noop = o.noopTasks ?? 1_000;
  const cpu = o.cpuTasks ?? 200;
  const cpuMs = o.cpuMs ?? 20;
  const client = await new MongoClient(o.mongoUri, { maxPoolSize: 50 }).connect();
  const results: BenchResult[] = [];
  const cores = availableParallelism();
  const rounds = calibrateRounds(cpuMs);
  try {
    // Not measured: the server and this process warm up, so the first system measured is not penalised.
    await withDb(client, (db) => run(db, 'inline', 'noop', null, Math.min(noop, 300)));
    for (const [scenario, type, payload, tasks] of [
      [`isolation no-op, ${noop} tasks, concurrency ${CONCURRENCY}`, 'noop', null, noop],
      [
        `isolation CPU-bound (${cpuMs} ms sha256), ${cpu} tasks, concurrency ${CONCURRENCY}, ${cores} cores`,
        'hash',
        { rounds },
        cpu,
      ],
    ] as const) {
      for (const kind of kinds) {
        const ms = await withDb(client, (db) => run(db, kind, type, payload, tasks));
        results.push({ scenario, system: kind, metric: 'throughput', value: perSecond(tasks, ms), unit: 'tasks/s' });
      }
      if (type !== 'hash') continue;
      // CPU-bound work wants one thread or process per core (Handlers:PoolSize), not one per slot: 16 busy
      // threads on few cores starve the worker's own loop and, on one machine, the database server.
      for (const kind of kinds.filter((k) => k !== 'inline')) {
        const ms = await withDb(client, (db) => run(db, kind, type, payload, tasks, cores));
        const system = `${kind}, PoolSize ${cores}`;
        results.push({ scenario, system, metric: 'throughput', value: perSecond(tasks, ms), unit: 'tasks/s' });
      }
    }
  } finally {
    await client.close();
  }
  return results;
}

async function withDb<T>(client: MongoClient, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = client.db(`bench_iso_${randomBytes(4).toString('hex')}`);
  try {
    return await fn(db);
  } finally {
    await db.dropDatabase().catch(() => undefined);
  }
}

async function run(
  db: Db,
  kind: HandlerIsolation,
  type: string,
  payload: unknown,
  tasks: number,
  poolSize?: number,
): Promise<number> {
  const config = loadConfig({
    env: {},
    overrides: {
      Worker: { BatchSize: CONCURRENCY, Concurrency: CONCURRENCY, PollingInterval: 20, HeartbeatInterval: 30_000 },
      Handlers: {
        Module: handlerModule,
        BuiltIns: false,
        Isolation: kind,
        ...(poolSize ? { PoolSize: poolSize } : {}),
      },
    },
  });
  const store = createTaskStore(db, config);
  const registry = new WorkerRegistry(db);
  await store.ensureIndexes();
  await registry.ensureIndexes();
  const handlers = await loadHandlers(config);
  let target = Infinity;
  let done = 0;
  let finish!: () => void;
  let allDone = new Promise<void>((resolve) => (finish = resolve));
  const worker = createWorker({
    store,
    registry,
    handlers,
    settings: config.Worker,
    hooks: {
      onTaskFinished: (o) => {
        if (o.outcome === 'succeeded' && ++done === target) finish();
      },
    },
  });
  worker.start();
  try {
    // Warm-up: every pool slot started (threads and processes import the handler module once).
    target = CONCURRENCY;
    await store.ingest(Array.from({ length: CONCURRENCY }, () => ({ type, payload })));
    await allDone;
    done = 0;
    target = tasks;
    allDone = new Promise<void>((resolve) => (finish = resolve));
    const t0 = performance.now();
    for (let i = 0; i < tasks; i += 1_000)
      await store.ingest(Array.from({ length: Math.min(1_000, tasks - i) }, () => ({ type, payload })));
    await allDone;
    return performance.now() - t0;
  } finally {
    await worker.stop();
    await handlers.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { startMongoServer } = await import('../tools/mongo-server.js');
  const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
  try {
    const rs = await benchIsolation({ mongoUri: process.env.MONGODB_URI ?? server!.uri });
    for (const r of rs) console.log(`${r.scenario} | ${r.system} | ${r.value.toFixed(1)} ${r.unit}`);
  } finally {
    await server?.stop();
  }
}
