/**
 * The `compare` suite of `npm run bench` (issue 9): taskmesh beside the systems users would pick
 * instead (Agenda 6 on the same mongo-java-server, pg-boss on this machine's PostgreSQL, BullMQ on its
 * Redis), with the same no-op job, the same number of tasks and the same concurrency, measured in one
 * run and reported as ratios. Sizes: see settings.ts (environment variables); scenarios: ./scenarios.
 *
 * Run alone: `npx tsx bench/compare/index.ts` (starts mongo-java-server unless MONGODB_URI is set;
 * BENCH_COMPARE_SCENARIOS=throughput,latency picks scenarios, BENCH_COMPARE_SYSTEMS picks systems).
 */
import { pathToFileURL } from 'node:url';
import type { BenchResult } from '../result.js';
import { compareSizes, type ScenarioName } from './settings.js';
import { pgUnavailable, redisUnavailable, serviceEndpoints } from './services.js';
import type { SystemName } from './types.js';
import type { CompareContext, ScenarioOutput } from './scenarios/common.js';
import { enqueueScenarios } from './scenarios/enqueue.js';
import { throughputInProcess, throughputProcesses } from './scenarios/throughput.js';
import { latencyScenario } from './scenarios/latency.js';
import { wakeScenarios } from './scenarios/wake.js';
import { recoveryScenario } from './scenarios/recovery.js';
import { batchScenario } from './scenarios/batch.js';
import { memoryScenario } from './scenarios/memory.js';
import { targetRows } from './targets.js';
import { warmUpMongo } from './warm-up.js';

export interface CompareBenchOptions {
  mongoUri: string;
  env?: NodeJS.ProcessEnv;
  log?: (message: string) => void;
}

const scenarioRunners: Record<ScenarioName, (ctx: CompareContext) => Promise<ScenarioOutput>> = {
  enqueue: enqueueScenarios,
  throughput: throughputInProcess,
  processes: throughputProcesses,
  latency: latencyScenario,
  wake: wakeScenarios,
  recovery: recoveryScenario,
  batch: batchScenario,
  memory: memoryScenario,
};

/** The systems whose service answers here; the others are skipped with the reason logged. */
export async function availableSystems(
  wanted: readonly SystemName[],
  endpoints = serviceEndpoints(),
  log: (m: string) => void = () => undefined,
): Promise<SystemName[]> {
  const out: SystemName[] = [];
  for (const s of wanted) {
    const why =
      s === 'pgboss'
        ? await pgUnavailable(endpoints.pgUrl)
        : s === 'bullmq'
          ? await redisUnavailable(endpoints.redis)
          : undefined;
    if (why) log(`skipping ${s}: ${why}`);
    else out.push(s);
  }
  return out;
}

export async function benchCompare(
  opts: CompareBenchOptions,
): Promise<{ results: BenchResult[]; baselines: Record<string, string> }> {
  const log = opts.log ?? ((m: string) => process.stderr.write(`bench compare: ${m}\n`));
  const sizes = compareSizes(opts.env);
  const endpoints = serviceEndpoints(opts.env);
  // taskmesh first: it is each system comparison's baseline.
  const wanted = [...sizes.systems].sort((a, b) => Number(b === 'taskmesh') - Number(a === 'taskmesh'));
  const systems = await availableSystems(wanted, endpoints, log);
  const ctx: CompareContext = { mongoUri: opts.mongoUri, endpoints, sizes, systems, log };
  const results: BenchResult[] = [];
  const baselines: Record<string, string> = {};
  log('warming up the Mongo server (each Mongo-based system runs its own workload first, unmeasured)');
  await warmUpMongo(ctx);
  const order: ScenarioName[] = [
    'enqueue',
    'throughput',
    'processes',
    'latency',
    'wake',
    'recovery',
    'batch',
    'memory',
  ];
  for (const name of order) {
    if (!sizes.scenarios.includes(name)) continue;
    const t0 = performance.now();
    try {
      const out = await scenarioRunners[name](ctx);
      results.push(...out.results);
      Object.assign(baselines, out.baselines);
      log(`${name}: done in ${Math.round((performance.now() - t0) / 1000)} s`);
    } catch (e) {
      // One scenario failing (a service went away) must not cost the figures of the others; the table says so.
      log(`${name}: FAILED after ${Math.round((performance.now() - t0) / 1000)} s: ${(e as Error).stack ?? String(e)}`);
      results.push({
        scenario: `${name} (failed: ${(e as Error).message.slice(0, 120)})`,
        system: '-',
        metric: 'failed',
        value: 1,
        unit: '',
      });
    }
  }
  results.push(...targetRows(results));
  return { results, baselines };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { startMongoServer } = await import('../../tools/mongo-server.js');
  const server = process.env.MONGODB_URI ? undefined : await startMongoServer({ backend: 'memory' });
  try {
    const { results } = await benchCompare({ mongoUri: process.env.MONGODB_URI ?? server!.uri });
    for (const r of results) console.log(JSON.stringify(r));
  } finally {
    await server?.stop();
  }
}
