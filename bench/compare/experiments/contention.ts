/**
 * EXPERIMENT: several stock Workers (each with its own MongoClient, as separate processes would have)
 * claiming from one queue. Records every claim: asked, got, duration, so lost batch-claim races show.
 *   VARIANT=stock|prefetch|coalesce|both npx tsx bench/compare/experiments/contention.ts [tasks=2000] [workers=4] [concurrency=16] [batchSize=concurrency]
 * (prefetch: prefetch-processor.ts, coalesce: coalescing-store.ts; see README.md).
 */
import { readFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { startMongoServer } from '../../../tools/mongo-server.js';
import { loadConfig } from '../../../lib/config/index.js';
import { createTaskStore } from '../../../lib/store/create.js';
import { CoalescingTaskStore } from './coalescing-store.js';
import { createWorker as createPrefetchWorker } from './prefetch-processor.js';
import { createWorker, defineHandler, HandlerRegistry, WorkerRegistry } from '../../../lib/worker/index.js';

const tasks = Number(process.argv[2] ?? 2_000);
const workers = Number(process.argv[3] ?? 4);
const concurrency = Number(process.argv[4] ?? 16);
const batchSize = Number(process.argv[5] ?? concurrency);
const variant = process.env.VARIANT ?? 'stock';
const prefetch = variant === 'prefetch' || variant === 'both';
const coalesce = variant === 'coalesce' || variant === 'both';
/** CPU seconds a process has used (Linux /proc). */
const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
const uri = process.env.MONGODB_URI ?? server!.uri;
const dbName = `exp_contention_${randomBytes(4).toString('hex')}`;
const clients: MongoClient[] = [];
try {
  const config = loadConfig({ env: {}, overrides: { Worker: { BatchSize: batchSize, Concurrency: concurrency, PollingInterval: 100, HeartbeatInterval: 2_000 } } });
  const admin = await new MongoClient(uri).connect();
  clients.push(admin);
  const seed = createTaskStore(admin.db(dbName), config);
  await seed.ensureIndexes();
  await new WorkerRegistry(admin.db(dbName)).ensureIndexes();
  for (let i = 0; i < tasks; i += 500) await seed.ingest(Array.from({ length: Math.min(500, tasks - i) }, (_, j) => ({ type: 'noop', payload: { n: i + j } })));
  const claims: { worker: number; asked: number; got: number; ms: number }[] = [];
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((r) => (finish = r));
  const ws: { start(): unknown; stop(reason: string, o: { timeoutMs: number }): Promise<unknown> }[] = [];
  for (let w = 0; w < workers; w++) {
    const client = await new MongoClient(uri, { maxPoolSize: 100 }).connect();
    clients.push(client);
    const store = coalesce ? new CoalescingTaskStore(client.db(dbName)) : createTaskStore(client.db(dbName), config);
    const claim = store.claim.bind(store);
    store.claim = async (id, o) => {
      const t0 = performance.now();
      const r = await claim(id, o);
      claims.push({ worker: w, asked: o?.limit ?? 1, got: r.length, ms: performance.now() - t0 });
      return r;
    };
    ws.push((prefetch ? createPrefetchWorker : createWorker)({
      store,
      registry: new WorkerRegistry(client.db(dbName)),
      settings: config.Worker,
      handlers: new HandlerRegistry([defineHandler({ type: 'noop', schema: z.unknown(), run: () => undefined })]),
      hooks: { onTaskFinished: (o) => { if (o.outcome === 'succeeded' && ++done === tasks) finish(); } },
    }));
  }
  const serverCpu0 = server ? cpuSeconds(server.pid) : 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const w of ws) w.start();
  const cap = setTimeout(finish, 120_000);
  await all;
  clearTimeout(cap);
  const ms = performance.now() - t0;
  const serverCpu = server ? cpuSeconds(server.pid) - serverCpu0 : NaN;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(ws.map((w) => w.stop('stopped', { timeoutMs: 2_000 })));
  console.log(`server CPU ${((serverCpu * 1000) / ms * 100).toFixed(0)}% (${((serverCpu * 1000) / tasks).toFixed(2)} ms/task), node CPU ${(((cpu.user + cpu.system) / 1000) / ms * 100).toFixed(0)}% (${((cpu.user + cpu.system) / 1000 / tasks).toFixed(2)} ms/task)`);
  const short = claims.filter((c) => c.got < c.asked && c.got > 0).length;
  const empty = claims.filter((c) => c.got === 0).length;
  console.log(`${variant}: ${workers} workers x concurrency ${concurrency}, BatchSize ${batchSize}, ${tasks} tasks: ${done} done, ${((done / ms) * 1000).toFixed(1)} tasks/s`);
  console.log(`claims ${claims.length}: mean asked ${(claims.reduce((s, c) => s + c.asked, 0) / claims.length).toFixed(1)}, mean got ${(claims.reduce((s, c) => s + c.got, 0) / claims.length).toFixed(1)}, short ${short}, empty ${empty}, mean ${(claims.reduce((s, c) => s + c.ms, 0) / claims.length).toFixed(0)} ms per claim`);
} finally {
  await admin_drop();
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
}

async function admin_drop(): Promise<void> {
  await clients[0]?.db(dbName).dropDatabase().catch(() => undefined);
}
