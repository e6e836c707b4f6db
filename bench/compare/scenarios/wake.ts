/**
 * Issue 15: enqueue-to-start latency along each path a wake-up takes, at `latencyRate` tasks/s for
 * `latencySeconds`, concurrency `latencyConcurrency`, with the product's default PollingInterval
 * (10 s: polling cannot explain a start in milliseconds):
 *   (a) POST /api/tasks on the local runtime composition (lib/app/local-host.ts, as `npm start` runs it);
 *   (b) a message sent to the ingest queue (Azurite Storage queue), ingested by that host;
 *   (c) a long-running worker process (bench/compare/worker-process.ts) woken through the database;
 *   (d) a retry due at T (backoff 1 s, full jitter): second attempt's start - T, in a worker process's composition.
 * One clock per measure: (a), (b), (d) in this process; (c) counts the start when its IPC report arrives.
 * Then (write-limit.ts) throughput at concurrency 16 with wake-ups off and on, alternately, and as a
 * fraction of the server's write limit (a bare loop of task-sized updates, interleaved with those runs).
 */
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import { z } from 'zod';
import { loadConfig } from '../../../lib/config/index.js';
import { createServices } from '../../../lib/app/services.js';
import { EMULATOR_MAX_POLLING_INTERVAL_MS, startLocalHost } from '../../../lib/app/local-host.js';
import { defineHandler, HandlerRegistry } from '../../../lib/handlers/index.js';
import { silentLogger } from '../../../lib/log/logger.js';
import { createQueueProvider } from '../../../lib/queues/factory.js';
import { taskStoreOptions } from '../../../lib/store/create.js';
import { MongoTaskStore } from '../../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../../lib/tasks/status.js';
import { announcingStore, createWakeHub, ensureWakeIndexes } from '../../../lib/wake/index.js';
import { createWorker } from '../../../lib/worker/index.js';
import { startAzuriteQueue } from '../../../tools/azurite.js';
import type { BenchResult } from '../../result.js';
import { spawnWorkerProcess } from '../procs.js';
import { throughputLease } from '../settings.js';
import { newNamespace } from '../systems.js';
import { TaskmeshAdapter } from '../taskmesh.js';
import { writeLimitFraction } from './write-limit.js';
import { adapterConfig, percentile, Progress, round1, type CompareContext, type ScenarioOutput } from './common.js';

const DEFAULT_POLL_MS = 10_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Fires `send(n)` for n = 0..total-1 on schedule (not waiting for the previous one); returns when each was made. */
async function onSchedule(rate: number, total: number, send: (n: number) => Promise<unknown>): Promise<number[]> {
  const sentAt = new Array<number>(total);
  const sends: Promise<unknown>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    sentAt[i] = performance.now();
    sends.push(send(i));
  }
  await Promise.all(sends);
  return sentAt;
}

async function waitForAll(startedAt: Map<number, number>, total: number, capMs: number): Promise<void> {
  const end = performance.now() + capMs;
  while (startedAt.size < total && performance.now() < end) await sleep(20);
}

function latencyRows(scenario: string, label: string, lat: number[], total: number): BenchResult[] {
  const sorted = [...lat].sort((x, y) => x - y);
  const out: BenchResult[] = [
    { scenario, system: label, metric: 'p50', value: round1(percentile(sorted, 50)), unit: 'ms' },
    { scenario, system: label, metric: 'p99', value: round1(percentile(sorted, 99)), unit: 'ms' },
  ];
  if (lat.length < total)
    out.push({ scenario, system: label, metric: 'tasks never started', value: total - lat.length, unit: 'tasks' });
  return out;
}

const benchType = 'bench.wake';

/** (a) and (b): one local host, as `npm start` composes it (without its own database and Azurite). */
async function localHostPaths(ctx: CompareContext, scenario: string): Promise<BenchResult[]> {
  const { latencyRate: rate, latencySeconds: seconds, latencyConcurrency: c } = ctx.sizes;
  const total = rate * seconds;
  const azurite = await startAzuriteQueue({});
  const ns = newNamespace('wakelocal');
  const config = loadConfig({
    env: {
      MONGODB_URI: ctx.mongoUri,
      MongoDB__DatabaseName: `bench_${ns}`,
      AzureStorage__ConnectionString: azurite.connectionString,
      AzureStorage__QueueName: 'bench-ingest',
      AzureStorage__DispatchQueueName: 'bench-dispatch',
      Admin__ApiKey: 'bench-key-0123456789',
      Worker__Concurrency: String(c),
      Worker__BatchSize: String(c),
      Worker__PollingInterval: String(DEFAULT_POLL_MS),
      // As npm start composes it on Azurite (an emulator polls often; a real account's poll is a cost setting).
      AzureStorage__MaxPollingInterval:
        process.env.AzureStorage__MaxPollingInterval ?? String(EMULATOR_MAX_POLLING_INTERVAL_MS),
    },
  });
  let startedAt = new Map<number, number>();
  const handler = defineHandler({
    type: benchType,
    schema: z.object({ n: z.number() }),
    run: ({ n }) => {
      if (!startedAt.has(n)) startedAt.set(n, performance.now());
    },
  });
  const services = await createServices({ runtime: 'local', config, logger: silentLogger, handlers: [handler] });
  const ingest = await createQueueProvider(config, { logger: silentLogger });
  const dispatch = await createQueueProvider(config, { queue: 'dispatch', logger: silentLogger });
  const producer = await createQueueProvider(config, { logger: silentLogger });
  await Promise.all([ingest.ensureQueues(), dispatch.ensureQueues()]);
  const port = await freePort();
  const host = await startLocalHost({ services, ingest, dispatch, port });
  const api = `http://127.0.0.1:${port}/api`;
  const headers = { 'x-functions-key': 'bench-key-0123456789', 'content-type': 'application/json' };
  const out: BenchResult[] = [];
  try {
    const run = async (label: string, send: (n: number) => Promise<unknown>) => {
      startedAt = new Map();
      await sleep(1_500); // idle, as a host that waits for work
      ctx.log(`${scenario}: ${label}`);
      const sentAt = await onSchedule(rate, total, send);
      await waitForAll(startedAt, total, 30_000);
      // Which starts make the tail (the first after the idle pause, or a stall mid-run): [n, ms].
      ctx.log(
        `${label}: slowest starts [n, ms] ${JSON.stringify(
          [...startedAt]
            .map(([n, at]) => [n, Math.round(at - sentAt[n]!)])
            .sort((x, y) => y[1]! - x[1]!)
            .slice(0, 8),
        )}`,
      );
      out.push(
        ...latencyRows(
          scenario,
          label,
          [...startedAt].map(([n, at]) => at - sentAt[n]!),
          total,
        ),
      );
    };
    await run('taskmesh (a) POST /api/tasks, local runtime', async (n) => {
      const res = await fetch(`${api}/tasks`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ type: benchType, payload: { n } }),
      });
      await res.arrayBuffer();
      if (res.status >= 300) throw new Error(`POST /api/tasks answered ${res.status}`);
    });
    await run('taskmesh (b) ingested from the Storage queue (Azurite), local runtime', (n) =>
      producer.send({ body: JSON.stringify({ type: benchType, payload: { n: n } }) }),
    );
  } finally {
    await host.stop();
    await Promise.all([ingest.close(), dispatch.close(), producer.close()]);
    await services.database.db.dropDatabase().catch(() => undefined);
    await services.close();
    await azurite.stop();
  }
  return out;
}

/** (c): a long-running worker process, woken through the database by this process's enqueues. */
async function workerProcessPath(ctx: CompareContext, scenario: string): Promise<BenchResult[]> {
  const { latencyRate: rate, latencySeconds: seconds, latencyConcurrency: c } = ctx.sizes;
  const total = rate * seconds;
  const label = 'taskmesh (c) long-running worker process';
  ctx.log(`${scenario}: ${label}`);
  const config = adapterConfig(ctx, 'wakeproc', DEFAULT_POLL_MS, throughputLease);
  const a = new TaskmeshAdapter(config);
  await a.setup();
  const p = new Progress();
  const child = spawnWorkerProcess(
    { system: 'taskmesh', concurrency: c, mode: 'noop', config, maxLifetimeMs: 180_000 },
    { onStarted: (ns) => ns.forEach((n) => p.started(n)), onDone: (ns) => ns.forEach((n) => p.done(n)) },
  );
  try {
    await child.ready;
    child.go();
    await sleep(1_500);
    const sentAt = await onSchedule(rate, total, (n) => a.enqueueOne(n));
    await p.doneBy(total, 30_000);
    return latencyRows(
      scenario,
      label,
      [...p.startedAt].map(([n, at]) => at - sentAt[n]!),
      total,
    );
  } finally {
    await child.stop();
    await a.teardown({ drop: true });
  }
}

/** (d): tasks that fail their first attempt; the retry is due at T = nextAttemptAt (backoff 1 s, full jitter). */
async function retryDuePath(ctx: CompareContext, scenario: string): Promise<BenchResult[]> {
  const { latencyRate: rate, latencySeconds: seconds, latencyConcurrency: c } = ctx.sizes;
  const total = rate * seconds;
  const label = 'taskmesh (d) retry due at T: start - T (worker process composition)';
  ctx.log(`${scenario}: ${label}`);
  const client = await new MongoClient(ctx.mongoUri, { maxPoolSize: 100 }).connect();
  const db = client.db(`bench_${newNamespace('wakeretry')}`);
  const config = loadConfig({
    env: {},
    overrides: {
      Worker: {
        Concurrency: c,
        BatchSize: c,
        PollingInterval: DEFAULT_POLL_MS,
        RetryBaseDelay: 1_000,
        RetryMaxDelay: 1_000,
      },
    },
  });
  const hub = createWakeHub(db, {});
  const raw = new MongoTaskStore(db, taskStoreOptions(config));
  await raw.ensureIndexes();
  await ensureWakeIndexes(db);
  const store = announcingStore(raw, hub);
  const secondStart = new Map<number, number>();
  const worker = createWorker({
    store,
    settings: config.Worker,
    wake: hub,
    handlers: new HandlerRegistry([
      defineHandler({
        type: benchType,
        schema: z.object({ n: z.number() }),
        run: ({ n }, h) => {
          if (h.attempt === 1) throw new Error('first attempt fails');
          if (!secondStart.has(n)) secondStart.set(n, Date.now());
        },
      }),
    ]),
  });
  try {
    worker.start();
    await sleep(1_500);
    await onSchedule(rate, total, (n) => store.ingest([{ type: benchType, payload: { n } }]));
    await waitForAll(secondStart, total, 30_000);
    const tasks = await raw.tasks
      .find({ status: S.Succeeded }, { projection: { payload: 1, nextAttemptAt: 1 } })
      .toArray();
    const lat = tasks.flatMap((t) => {
      const n = (t.payload as { n: number }).n;
      const at = secondStart.get(n);
      return at === undefined ? [] : [at - t.nextAttemptAt.getTime()];
    });
    return latencyRows(scenario, label, lat, total);
  } finally {
    await worker.stop('stopped', { timeoutMs: 2_000 });
    await hub.close();
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

export async function wakeScenarios(ctx: CompareContext): Promise<ScenarioOutput> {
  if (!ctx.systems.includes('taskmesh')) return { results: [], baselines: {} };
  const { latencyRate: rate, latencySeconds: seconds, latencyConcurrency: c } = ctx.sizes;
  const scenario = `enqueue-to-start latency by wake-up path, ${rate}/s for ${seconds}s, concurrency ${c}, PollingInterval ${DEFAULT_POLL_MS / 1000}s`;
  const results: BenchResult[] = [];
  results.push(...(await localHostPaths(ctx, scenario)));
  results.push(...(await workerProcessPath(ctx, scenario)));
  results.push(...(await retryDuePath(ctx, scenario)));
  results.push(...(await writeLimitFraction(ctx)));
  // Paths, not systems: no ratios between them. Set them beside the latency scenario's rows of the same run.
  return { results, baselines: {} };
}
