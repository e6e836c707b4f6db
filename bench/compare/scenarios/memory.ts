/**
 * Memory: one taskmesh worker process (concurrency 16, BatchSize 16, PollingInterval 100 ms, heartbeat
 * every 2 s, its registry record and reclaimer loop as in production) processes BENCH_MEMORY_TASKS
 * no-op tasks (default 20,000; the issue asks for 100,000), fed in waves so that at most `memoryWave` wait at a time. The process
 * reports its peak RSS (getrusage maxRSS), RSS and heap used after a full GC when 10,000 (half, on runs under 20,000) and
 * all tasks are done. Finished tasks are deleted by the feeder after each wave (as retention would), so the
 * test server keeps a few thousand documents and its speed does not drift over the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchResult } from '../../result.js';
import type { ChildMessage } from '../ipc.js';
import { spawnWorkerProcess } from '../procs.js';
import { throughputLease } from '../settings.js';
import { TaskmeshAdapter } from '../taskmesh.js';
import { JobTaskStatus as S } from '../../../lib/tasks/status.js';
import { adapterConfig, mb, Progress, range, round1, type CompareContext, type ScenarioOutput } from './common.js';

type MemSample = Extract<ChildMessage, { t: 'mem' }>;

export async function memoryScenario(ctx: CompareContext): Promise<ScenarioOutput> {
  const total = ctx.sizes.memoryTasks;
  const wave = ctx.sizes.memoryWave;
  // 10,000 tasks in (the first point) once the worker is past its start-up; half-way on short runs.
  const early = total >= 20_000 ? 10_000 : Math.max(1, Math.floor(total / 2));
  const scenario = `taskmesh worker process memory, ${total} no-op tasks fed ${wave} at a time, concurrency 16`;
  const results: BenchResult[] = [];
  if (total <= 0) return { results, baselines: {} };
  const config = adapterConfig(ctx, 'mem', 100, throughputLease);
  const adapter = new TaskmeshAdapter(config);
  await adapter.setup();
  const samples: MemSample[] = [];
  const p = new Progress();
  const child = spawnWorkerProcess(
    { system: 'taskmesh', concurrency: 16, mode: 'noop', config, memoryAt: [early, total], maxLifetimeMs: 60 * 60_000 },
    {
      onDone: (ns) => ns.forEach((n) => p.done(n)),
      onMemory: (m) => samples.push(m),
    },
  );
  const t0 = performance.now();
  try {
    await child.ready;
    let enqueued = 0;
    const feed = async (count: number) => {
      await adapter.enqueueBulk(range(enqueued, count));
      enqueued += count;
    };
    await feed(Math.min(wave, total));
    child.go();
    let lastProgress = performance.now();
    let lastDone = 0;
    let lastLog = 0;
    while (p.doneCount < total) {
      await p.doneBy(Math.min(total, p.doneCount + Math.ceil(wave / 4)), 2_000);
      if (p.doneCount > lastDone) {
        lastDone = p.doneCount;
        lastProgress = performance.now();
      } else if (performance.now() - lastProgress > 60_000) {
        throw new Error(`memory: no progress for 60 s at ${p.doneCount} of ${total} tasks: ${child.stderrTail()}`);
      }
      const waiting = enqueued - p.doneCount;
      if (waiting <= wave / 2 && enqueued < total) {
        await adapter.database.collection('tasks').deleteMany({ status: S.Succeeded });
        await feed(Math.min(wave - waiting, total - enqueued));
      }
      if (p.doneCount - lastLog >= 10_000) {
        lastLog = p.doneCount;
        ctx.log(`memory: ${p.doneCount} of ${total} tasks done after ${Math.round((performance.now() - t0) / 1000)} s`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const arrived = await untilSamples(samples, 2, 10_000);
    if (!arrived) throw new Error('memory: the worker process did not report its memory');
    const [a, b] = [samples.find((s) => s.done >= early && s.done < total) ?? samples[0]!, samples.at(-1)!];
    results.push(
      { scenario, system: 'taskmesh', metric: `peak RSS at ${early} tasks`, value: mb(a.maxRssBytes), unit: 'MB' },
      { scenario, system: 'taskmesh', metric: `peak RSS at ${total} tasks`, value: mb(b.maxRssBytes), unit: 'MB' },
      {
        scenario,
        system: 'taskmesh',
        metric: `peak RSS growth ${early} -> ${total} tasks (target <= 1.10)`,
        value: Math.round((b.maxRssBytes / a.maxRssBytes) * 1000) / 1000,
        unit: 'x',
      },
      { scenario, system: 'taskmesh', metric: `RSS at ${early} tasks`, value: mb(a.rssBytes), unit: 'MB' },
      { scenario, system: 'taskmesh', metric: `RSS at ${total} tasks`, value: mb(b.rssBytes), unit: 'MB' },
      {
        scenario,
        system: 'taskmesh',
        metric: `heap used after GC at ${early} tasks`,
        value: mb(a.heapUsedBytes),
        unit: 'MB',
      },
      {
        scenario,
        system: 'taskmesh',
        metric: `heap used after GC at ${total} tasks`,
        value: mb(b.heapUsedBytes),
        unit: 'MB',
      },
      { scenario, system: 'taskmesh', metric: 'duration', value: round1(seconds), unit: 's' },
      { scenario, system: 'taskmesh', metric: 'throughput', value: round1(total / seconds), unit: 'tasks/s' },
    );
    if (p.duplicateDone)
      results.push({ scenario, system: 'taskmesh', metric: 'tasks run twice', value: p.duplicateDone, unit: 'tasks' });
  } finally {
    await child.stop();
    await adapter.teardown({ drop: true });
  }
  return { results, baselines: {} };
}

async function untilSamples(samples: readonly MemSample[], count: number, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (samples.length < count) {
    if (performance.now() > end) return false;
    await sleep(20);
  }
  return true;
}
