/**
 * Latency from enqueue to start at a steady, moderate rate: `latencyRate` tasks per second for
 * `latencySeconds`, one enqueue call per task fired on schedule (not waiting for the previous one),
 * into a worker of concurrency `latencyConcurrency` in this process that is already idle-polling.
 * Latency = handler start - the moment the enqueue call was made (one clock). Polling systems poll
 * every `latencyPollMs` (500 ms by default: pg-boss's minimum); BullMQ blocks on Redis and is woken.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchResult } from '../../result.js';
import { leaseTerms, throughputLease } from '../settings.js';
import {
  adapterConfig,
  percentile,
  Progress,
  round1,
  withAdapter,
  type CompareContext,
  type ScenarioOutput,
} from './common.js';

export async function latencyScenario(ctx: CompareContext): Promise<ScenarioOutput> {
  const { latencyRate: rate, latencySeconds: seconds, latencyConcurrency: c, latencyPollMs: pollMs } = ctx.sizes;
  const total = rate * seconds;
  const scenario = `enqueue-to-start latency, ${rate}/s for ${seconds}s, concurrency ${c}, poll ${pollMs}ms (BullMQ: no poll)`;
  const results: BenchResult[] = [];
  let baseline: string | undefined;
  for (const system of ctx.systems) {
    ctx.log(
      `${scenario}: ${system} (${leaseTerms(system, throughputLease, pollMs)
        .split(', ')
        .filter((s) => /poll|process|fetch/i.test(s))
        .join(', ')})`,
    );
    await withAdapter(system, adapterConfig(ctx, `lat${system}`, pollMs, throughputLease), async (a) => {
      const p = new Progress();
      await a.startWorker({ concurrency: c, onStart: (n) => p.started(n), onDone: (n) => p.done(n) });
      await sleep(1_000); // idle-polling, as a worker that waits for work
      const sentAt = new Array<number>(total);
      const sends: Promise<void>[] = [];
      const t0 = performance.now();
      const interval = 1_000 / rate;
      for (let i = 0; i < total; i++) {
        const due = t0 + i * interval;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        sentAt[i] = performance.now();
        sends.push(a.enqueueOne(i));
      }
      await Promise.all(sends);
      await p.doneBy(total, 30_000);
      const lat = [...p.startedAt]
        .filter(([n]) => n >= 0)
        .map(([n, at]) => at - sentAt[n]!)
        .sort((x, y) => x - y);
      baseline ??= a.label;
      results.push({ scenario, system: a.label, metric: 'p50', value: round1(percentile(lat, 50)), unit: 'ms' });
      results.push({ scenario, system: a.label, metric: 'p99', value: round1(percentile(lat, 99)), unit: 'ms' });
      const achieved = (total / (performance.now() - t0)) * 1000;
      if (lat.length < total)
        results.push({
          scenario,
          system: a.label,
          metric: 'tasks never started',
          value: total - lat.length,
          unit: 'tasks',
        });
      if (achieved < rate * 0.5) ctx.log(`latency ${system}: enqueue fell behind the schedule`);
    });
  }
  return { results, baselines: baseline ? { [scenario]: baseline } : {} };
}
