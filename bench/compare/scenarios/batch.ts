/**
 * Batch mode against the single-operation ceiling, at concurrency 16 on the same server:
 * - the ceiling: a bare findOneAndUpdate loop, 16 at once, doing per task what a worker must do at
 *   least (claim, start, complete: three round trips, least updates), on documents our store ingested;
 * - taskmesh's Worker with BatchSize 1 (one findOneAndUpdate claim per task) and with BatchSize 16
 *   (the batch claim), both Concurrency 16, PollingInterval 100 ms.
 * Also counted for the Worker rows: commands sent per task (round trips), and claims per task.
 */
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { MongoTaskStore } from '../../../lib/store/mongo/store.js';
import { perSecond, timed, type BenchResult } from '../../result.js';
import { throughputLease } from '../settings.js';
import { TaskmeshAdapter, TASK_TYPE } from '../taskmesh.js';
import { adapterConfig, enqueueAll, Progress, until, type CompareContext, type ScenarioOutput } from './common.js';

export const FIND_ONE_AND_UPDATE_CEILING = 'bare findOneAndUpdate loop (ceiling)';

/** claim (findOneAndUpdate) + start + complete per task, `concurrency` loops at once. Returns tasks/s. */
export async function findOneAndUpdateCeiling(mongoUri: string, tasks: number, concurrency: number): Promise<number> {
  const client = await new MongoClient(mongoUri, { maxPoolSize: Math.max(concurrency * 2, 20) }).connect();
  const db = client.db(`bench_cmp_fou_${randomBytes(4).toString('hex')}`);
  try {
    const store = new MongoTaskStore(db);
    await store.ensureIndexes();
    for (let i = 0; i < tasks; i += 500)
      await store.ingest(
        Array.from({ length: Math.min(500, tasks - i) }, (_, j) => ({ type: TASK_TYPE, payload: { n: i + j } })),
      );
    const col = db.collection<{ _id: string; status: number }>('tasks');
    const { ms } = await timed(() =>
      Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (;;) {
            const doc = await col.findOneAndUpdate(
              { status: { $in: [20, 25] }, nextAttemptAt: { $lte: new Date() } },
              { $set: { status: 21, owner: 'w' } },
              { sort: { priority: -1, createdAt: 1 }, returnDocument: 'after' },
            );
            if (!doc) return;
            await col.updateOne({ _id: doc._id, owner: 'w', status: 21 }, { $set: { status: 22 } });
            await col.updateOne({ _id: doc._id, owner: 'w', status: 22 }, { $set: { status: 23 } });
          }
        }),
      ),
    );
    return perSecond(tasks, ms);
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

export async function batchScenario(ctx: CompareContext): Promise<ScenarioOutput> {
  const tasks = ctx.sizes.batchTasks;
  const c = 16;
  const scenario = `batch mode: claim+complete ${tasks} no-op tasks, concurrency ${c}, vs the single-operation ceiling`;
  const results: BenchResult[] = [];
  ctx.log(`${scenario}: ceiling`);
  results.push({
    scenario,
    system: FIND_ONE_AND_UPDATE_CEILING,
    metric: 'throughput',
    value: await findOneAndUpdateCeiling(ctx.mongoUri, tasks, c),
    unit: 'tasks/s',
  });
  for (const batchSize of [1, 16]) {
    const label = `taskmesh Worker (BatchSize ${batchSize}, Concurrency ${c})`;
    ctx.log(`${scenario}: ${label}`);
    const a = new TaskmeshAdapter(adapterConfig(ctx, `batch${batchSize}`, 100, throughputLease, { batchSize }), {
      monitorCommands: true,
      label,
    });
    try {
      await a.setup();
      await enqueueAll(a, tasks, 500);
      const p = new Progress();
      a.counting = true;
      const t0 = performance.now();
      await a.startWorker({ concurrency: c, onDone: (n) => p.done(n) });
      await p.doneBy(tasks, ctx.sizes.maxRunMs * 3);
      const done = p.doneCount;
      await until(async () => (await a.completed()) >= done, 10_000, 10);
      const ms = performance.now() - t0;
      a.counting = false;
      const sent = [...a.commands.values()].reduce((s, x) => s + x, 0);
      results.push({ scenario, system: label, metric: 'throughput', value: perSecond(done, ms), unit: 'tasks/s' });
      const perTask = (x: number) => Math.round((x / Math.max(1, done)) * 100) / 100;
      results.push({ scenario, system: label, metric: 'round trips per task', value: perTask(sent), unit: 'commands' });
      for (const [name, count] of [...a.commands].sort())
        if (perTask(count) > 0)
          results.push({
            scenario,
            system: label,
            metric: `${name} per task`,
            value: perTask(count),
            unit: 'commands',
          });
      if (done < tasks)
        results.push({ scenario, system: label, metric: 'tasks done within the cap', value: done, unit: 'tasks' });
    } finally {
      await a.teardown({ drop: true });
    }
  }
  return { results, baselines: { [scenario]: FIND_ONE_AND_UPDATE_CEILING } };
}
