/**
 * EXPERIMENT: the proposed worker/store changes, measured beside the stock Worker and the bare
 * findOneAndUpdate ceiling, interleaved and repeated (the machine is shared: compare within a round).
 *   npx tsx bench/compare/experiments/prototypes.ts [tasks=2000] [concurrency=16] [rounds=3]
 * Variants: stock Worker; PREFETCH (prefetch-processor.ts); COALESCE (coalescing-store.ts); both.
 */
import { MongoClient, type Db } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { startMongoServer } from '../../../tools/mongo-server.js';
import { loadConfig } from '../../../lib/config/index.js';
import { MongoTaskStore } from '../../../lib/store/mongo/store.js';
import { createWorker, defineHandler, HandlerRegistry, WorkerRegistry, type WorkerOptions } from '../../../lib/worker/index.js';
import { createWorker as createPrefetchWorker } from './prefetch-processor.js';
import { CoalescingTaskStore } from './coalescing-store.js';
import { findOneAndUpdateCeiling } from '../scenarios/batch.js';

const tasks = Number(process.argv[2] ?? 2_000);
const concurrency = Number(process.argv[3] ?? 16);
const rounds = Number(process.argv[4] ?? 3);
const batchSize = Number(process.env.BATCH ?? 16);

type Variant = { name: string; prefetch: boolean; coalesce: boolean };
const variants: Variant[] = [
  { name: `stock Worker (BatchSize ${batchSize})`, prefetch: false, coalesce: false },
  { name: 'PREFETCH', prefetch: true, coalesce: false },
  { name: 'COALESCE', prefetch: false, coalesce: true },
  { name: 'PREFETCH + COALESCE', prefetch: true, coalesce: true },
];

const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
const uri = process.env.MONGODB_URI ?? server!.uri;

async function runVariant(v: Variant): Promise<{ perSec: number; commandsPerTask: number }> {
  const client = new MongoClient(uri, { maxPoolSize: 100, monitorCommands: true });
  let commands = 0;
  let counting = false;
  client.on('commandStarted', () => {
    if (counting) commands++;
  });
  await client.connect();
  const db: Db = client.db(`exp_proto_${randomBytes(4).toString('hex')}`);
  try {
    const config = loadConfig({ env: {}, overrides: { Worker: { BatchSize: batchSize, Concurrency: concurrency, PollingInterval: 100, HeartbeatInterval: 2_000 } } });
    const store = v.coalesce ? new CoalescingTaskStore(db) : new MongoTaskStore(db);
    const registry = new WorkerRegistry(db);
    await store.ensureIndexes();
    await registry.ensureIndexes();
    for (let i = 0; i < tasks; i += 500) await store.ingest(Array.from({ length: Math.min(500, tasks - i) }, (_, j) => ({ type: 'noop', payload: { n: i + j } })));
    let done = 0;
    let finish!: () => void;
    const all = new Promise<void>((r) => (finish = r));
    const options: WorkerOptions = {
      store,
      registry,
      settings: config.Worker,
      handlers: new HandlerRegistry([defineHandler({ type: 'noop', schema: z.unknown(), run: () => undefined })]),
      hooks: { onTaskFinished: (o) => { if (o.outcome === 'succeeded' && ++done === tasks) finish(); } },
    };
    const worker = v.prefetch ? createPrefetchWorker(options) : createWorker(options);
    counting = true;
    const t0 = performance.now();
    worker.start();
    const timeout = setTimeout(finish, 120_000);
    await all;
    clearTimeout(timeout);
    const ms = performance.now() - t0;
    counting = false;
    await worker.stop('stopped', { timeoutMs: 2_000 });
    if (done < tasks) throw new Error(`${v.name}: ${done} of ${tasks} done in 120 s`);
    return { perSec: (tasks / ms) * 1000, commandsPerTask: commands / tasks };
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

try {
  const table = new Map<string, { perSec: number[]; ratio: number[]; commands: number[] }>();
  for (let r = 0; r < rounds; r++) {
    const ceiling = await findOneAndUpdateCeiling(uri, tasks, concurrency);
    console.log(`round ${r + 1}: ceiling ${ceiling.toFixed(1)} tasks/s`);
    for (const v of variants) {
      const out = await runVariant(v);
      const row = table.get(v.name) ?? { perSec: [], ratio: [], commands: [] };
      row.perSec.push(out.perSec);
      row.ratio.push(out.perSec / ceiling);
      row.commands.push(out.commandsPerTask);
      table.set(v.name, row);
      console.log(`  ${v.name.padEnd(28)} ${out.perSec.toFixed(1).padStart(7)} tasks/s  ${(out.perSec / ceiling).toFixed(2)}x ceiling  ${out.commandsPerTask.toFixed(2)} commands/task`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nmedian of ${rounds} rounds, ${tasks} tasks, concurrency ${concurrency}, BatchSize ${batchSize}:`);
  for (const [name, row] of table) console.log(`  ${name.padEnd(28)} ${median(row.perSec).toFixed(1).padStart(7)} tasks/s  ${median(row.ratio).toFixed(2)}x ceiling  ${median(row.commands).toFixed(2)} commands/task`);
} finally {
  await server?.stop();
}
