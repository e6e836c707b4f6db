/**
 * Claim-and-complete throughput of no-op tasks at each concurrency: one worker in this process, or
 * `processes` worker processes started together. Tasks are enqueued first (not timed); the clock runs
 * from starting the worker(s) until the system has recorded every task completed (`completed()`),
 * or stops at the time cap, whichever comes first (throughput = tasks done / time).
 */
import { perSecond, type BenchResult } from '../../result.js';
import { spawnWorkerProcess, type WorkerProcess } from '../procs.js';
import { throughputLease } from '../settings.js';
import type { QueueAdapter } from '../types.js';
import {
  adapterConfig,
  enqueueAll,
  Progress,
  until,
  withAdapter,
  type CompareContext,
  type ScenarioOutput,
} from './common.js';

interface RunOutcome {
  done: number;
  ms: number;
  duplicates: number;
}

async function timedUntilDone(
  a: QueueAdapter,
  p: Progress,
  tasks: number,
  maxRunMs: number,
  start: () => Promise<void>,
): Promise<RunOutcome> {
  const t0 = performance.now();
  await start();
  await p.doneBy(tasks, Math.max(0, maxRunMs - (performance.now() - t0)));
  const target = p.doneCount;
  await until(async () => (await a.completed()) >= target, 10_000, 10);
  return { done: target, ms: performance.now() - t0, duplicates: p.duplicateStarts + p.duplicateDone };
}

function rows(scenario: string, label: string, tasks: number, maxRunMs: number, r: RunOutcome): BenchResult[] {
  const out: BenchResult[] = [
    { scenario, system: label, metric: 'throughput', value: perSecond(r.done, r.ms), unit: 'tasks/s' },
  ];
  if (r.done < tasks)
    out.push({
      scenario,
      system: label,
      metric: `tasks done within the ${maxRunMs / 1000}s cap`,
      value: r.done,
      unit: 'tasks',
    });
  if (r.duplicates > 0)
    out.push({ scenario, system: label, metric: 'tasks run twice', value: r.duplicates, unit: 'tasks' });
  return out;
}

export async function throughputInProcess(ctx: CompareContext): Promise<ScenarioOutput> {
  const { tasks, maxRunMs, bulkChunk, concurrencies, throughputPollMs } = ctx.sizes;
  const results: BenchResult[] = [];
  const baselines: Record<string, string> = {};
  for (const c of concurrencies) {
    const scenario = `claim+complete ${tasks} no-op tasks, concurrency ${c}, 1 worker (in-process)`;
    for (const system of ctx.systems) {
      ctx.log(`${scenario}: ${system}`);
      const r = await withAdapter(
        system,
        adapterConfig(ctx, `tp${c}${system}`, throughputPollMs, throughputLease),
        async (a) => {
          await enqueueAll(a, tasks, bulkChunk);
          const p = new Progress();
          const out = await timedUntilDone(a, p, tasks, maxRunMs, () =>
            a.startWorker({ concurrency: c, onStart: (n) => p.started(n), onDone: (n) => p.done(n) }),
          );
          return { label: a.label, out };
        },
      );
      baselines[scenario] ??= r.label;
      results.push(...rows(scenario, r.label, tasks, maxRunMs, r.out));
    }
  }
  return { results, baselines };
}

export async function throughputProcesses(ctx: CompareContext): Promise<ScenarioOutput> {
  const { processTasks: tasks, processes, maxRunMs, bulkChunk, concurrencies, throughputPollMs } = ctx.sizes;
  const results: BenchResult[] = [];
  const baselines: Record<string, string> = {};
  for (const c of concurrencies) {
    const scenario = `claim+complete ${tasks} no-op tasks, concurrency ${c} per process, ${processes} worker processes`;
    for (const system of ctx.systems) {
      ctx.log(`${scenario}: ${system}`);
      const config = adapterConfig(ctx, `mp${c}${system}`, throughputPollMs, throughputLease);
      const r = await withAdapter(system, config, async (a) => {
        await enqueueAll(a, tasks, bulkChunk);
        const p = new Progress();
        const children: WorkerProcess[] = [];
        try {
          for (let i = 0; i < processes; i++) {
            children.push(
              spawnWorkerProcess(
                { system, concurrency: c, mode: 'noop', config, maxLifetimeMs: maxRunMs + 180_000 },
                { onStarted: (ns) => ns.forEach((n) => p.started(n)), onDone: (ns) => ns.forEach((n) => p.done(n)) },
              ),
            );
          }
          const spawned = performance.now();
          await Promise.all(children.map((ch) => ch.ready));
          ctx.log(`${processes} ${system} worker processes ready in ${Math.round(performance.now() - spawned)} ms`);
          const out = await timedUntilDone(a, p, tasks, maxRunMs, async () => {
            for (const ch of children) ch.go();
          });
          return { label: a.label, out };
        } finally {
          await Promise.all(children.map((ch) => ch.stop()));
        }
      });
      baselines[scenario] ??= r.label;
      results.push(...rows(scenario, r.label, tasks, maxRunMs, r.out));
    }
  }
  return { results, baselines };
}
