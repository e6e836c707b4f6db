/**
 * Enqueue throughput: one task per call (each call awaited before the next), and in bulk (chunks of
 * `bulkChunk`, the system's bulk API), into an empty queue. Beside the bulk rows, the ceiling: a bare
 * insertMany of the very documents our store writes, in the same chunks, into a collection with the
 * same indexes, on the same server.
 */
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { taskIndexes } from '../../../lib/store/mongo/indexes.js';
import { toTaskDocument } from '../../../lib/store/mongo/writes.js';
import type { Task } from '../../../lib/tasks/model.js';
import { perSecond, timed, type BenchResult } from '../../result.js';
import { throughputLease } from '../settings.js';
import { TASK_TYPE } from '../taskmesh.js';
import { adapterConfig, range, withAdapter, type CompareContext, type ScenarioOutput } from './common.js';

export const INSERT_MANY_CEILING = 'mongodb insertMany (ceiling)';

export async function insertManyCeiling(mongoUri: string, count: number, chunk: number): Promise<number> {
  const client = await new MongoClient(mongoUri).connect();
  const db = client.db(`bench_cmp_ceiling_${randomBytes(4).toString('hex')}`);
  try {
    const col = db.collection<Task>('tasks');
    await col.createIndexes(
      taskIndexes.map((i) => ({ key: i.key, name: i.name, ...(i.unique ? { unique: true } : {}) })),
    );
    const { ms } = await timed(async () => {
      for (let i = 0; i < count; i += chunk) {
        const now = new Date();
        const docs = range(i, Math.min(chunk, count - i)).map((n) =>
          toTaskDocument({ type: TASK_TYPE, payload: { n } }, now, { maxRetries: 3 }),
        );
        await col.insertMany(docs, { ordered: false });
      }
    });
    return perSecond(count, ms);
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

export async function enqueueScenarios(ctx: CompareContext): Promise<ScenarioOutput> {
  const { enqueueOne, enqueueBulk, bulkChunk } = ctx.sizes;
  const results: BenchResult[] = [];
  const baselines: Record<string, string> = {};
  const one = `enqueue ${enqueueOne} tasks one at a time (each call awaited)`;
  const bulk = `enqueue ${enqueueBulk} tasks in bulk, chunks of ${bulkChunk}`;

  for (const system of ctx.systems) {
    ctx.log(`${one}: ${system}`);
    await withAdapter(system, adapterConfig(ctx, `eq1${system}`, 1_000, throughputLease), async (a) => {
      await a.enqueueOne(-1); // connection and namespace warm before the clock
      const { ms } = await timed(async () => {
        for (let n = 0; n < enqueueOne; n++) await a.enqueueOne(n);
      });
      baselines[one] ??= a.label;
      results.push({
        scenario: one,
        system: a.label,
        metric: 'throughput',
        value: perSecond(enqueueOne, ms),
        unit: 'tasks/s',
      });
    });
  }

  ctx.log(`${bulk}: ceiling`);
  baselines[bulk] = INSERT_MANY_CEILING;
  results.push({
    scenario: bulk,
    system: INSERT_MANY_CEILING,
    metric: 'throughput',
    value: await insertManyCeiling(ctx.mongoUri, enqueueBulk, bulkChunk),
    unit: 'tasks/s',
  });
  for (const system of ctx.systems) {
    ctx.log(`${bulk}: ${system}`);
    await withAdapter(system, adapterConfig(ctx, `eqb${system}`, 1_000, throughputLease), async (a) => {
      await a.enqueueOne(-1);
      const { ms } = await timed(async () => {
        for (let i = 0; i < enqueueBulk; i += bulkChunk)
          await a.enqueueBulk(range(i, Math.min(bulkChunk, enqueueBulk - i)));
      });
      const label = system === 'agenda' ? `${a.label} [no bulk API: concurrent now() per chunk]` : a.label;
      results.push({
        scenario: bulk,
        system: label,
        metric: 'throughput',
        value: perSecond(enqueueBulk, ms),
        unit: 'tasks/s',
      });
    });
  }
  return { results, baselines };
}
