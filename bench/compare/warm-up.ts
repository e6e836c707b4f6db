/**
 * Warm-up before anything is measured. mongo-java-server runs on the JVM: the first few thousand
 * operations of each kind (sorted finds, updateMany, bulk writes, findAndModify) run several times
 * slower until the JIT has compiled them, and whichever system is measured first would pay for it.
 * So the bare loop and each Mongo-based system (ours and Agenda) process a few hundred tasks of their
 * own workload first, twice, unmeasured; the other systems run on servers that do not warm up this way.
 */
import { findOneAndUpdateCeiling } from './scenarios/batch.js';
import { adapterConfig, enqueueAll, Progress, withAdapter, type CompareContext } from './scenarios/common.js';
import { throughputLease } from './settings.js';

const MONGO_SYSTEMS = new Set(['taskmesh', 'agenda']);

export async function warmUpMongo(ctx: CompareContext, tasks = 600, rounds = 2): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await findOneAndUpdateCeiling(ctx.mongoUri, tasks / 2, 16);
    for (const system of ctx.systems.filter((s) => MONGO_SYSTEMS.has(s))) {
      await withAdapter(
        system,
        adapterConfig(ctx, `warm${system}`, ctx.sizes.throughputPollMs, throughputLease),
        async (a) => {
          await enqueueAll(a, tasks, ctx.sizes.bulkChunk);
          const p = new Progress();
          await a.startWorker({ concurrency: 16, onDone: (n) => p.done(n) });
          await p.doneBy(tasks, ctx.sizes.maxRunMs);
        },
      );
    }
  }
}
