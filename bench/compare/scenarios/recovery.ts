/**
 * Recovery: how long after a worker dies (SIGKILL) mid-task the task is running elsewhere.
 * Worker A (its own process, concurrency 1) starts a long task that keeps its lease alive the system's
 * way; worker B (this process, concurrency 1, idle-polling) is started; after a settle time of
 * 1.5 lease renewals A is killed; recovery = B's handler start of that task - the kill (one clock).
 * Lease settings are the same for all systems (settings.ts recoveryLease), in each system's terms:
 * see the system column. Repeated `recoveryRuns` times; the mean and the worst run are reported.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchResult } from '../../result.js';
import { spawnWorkerProcess } from '../procs.js';
import { leaseTerms, recoveryLease, recoveryPollMs } from '../settings.js';
import type { SystemName } from '../types.js';
import { adapterConfig, Progress, round1, withAdapter, type CompareContext, type ScenarioOutput } from './common.js';

const TASK = 0;

async function oneRecovery(
  ctx: CompareContext,
  system: SystemName,
): Promise<{ label: string; ms: number | undefined; ranTwiceBeforeKill: boolean }> {
  const config = adapterConfig(ctx, `rec${system}`, recoveryPollMs, recoveryLease);
  return withAdapter(system, config, async (a) => {
    const aStarted = new Progress();
    const victim = spawnWorkerProcess(
      { system, concurrency: 1, mode: 'hang', config, maxLifetimeMs: 180_000 },
      { onStarted: (ns) => ns.forEach((n) => aStarted.started(n)) },
    );
    try {
      await victim.ready;
      victim.go();
      await a.enqueueOne(TASK);
      const started = await waitStarted(aStarted, TASK, 30_000);
      if (!started) throw new Error(`recovery ${system}: worker A never started the task: ${victim.stderrTail()}`);
      const b = new Progress();
      await a.startWorker({ concurrency: 1, onStart: (n) => b.started(n), onDone: (n) => b.done(n) });
      await sleep(1.5 * recoveryLease.refreshMs);
      const ranTwiceBeforeKill = b.startedAt.has(TASK);
      const killedAt = performance.now();
      victim.kill();
      const recovered = await waitStarted(b, TASK, 60_000);
      return { label: a.label, ms: recovered ? b.startedAt.get(TASK)! - killedAt : undefined, ranTwiceBeforeKill };
    } finally {
      victim.kill();
      await victim.exited;
    }
  });
}

async function waitStarted(p: Progress, n: number, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (!p.startedAt.has(n)) {
    if (performance.now() > end) return false;
    await sleep(10);
  }
  return true;
}

export async function recoveryScenario(ctx: CompareContext): Promise<ScenarioOutput> {
  const l = recoveryLease;
  const scenario = `recovery after SIGKILL mid-task (${ctx.sizes.recoveryRuns} runs): lease ${l.timeoutMs / 1000}s, renewed every ${l.refreshMs / 1000}s, expiry checked every ${l.checkMs / 1000}s, poll ${recoveryPollMs}ms`;
  const results: BenchResult[] = [];
  let baseline: string | undefined;
  for (const system of ctx.systems) {
    const runs: number[] = [];
    let label = system as string;
    let failures = 0;
    for (let i = 0; i < ctx.sizes.recoveryRuns; i++) {
      ctx.log(`${scenario}: ${system} run ${i + 1}`);
      const r = await oneRecovery(ctx, system);
      label = `${r.label} [${leaseTerms(system, l, recoveryPollMs)}]`;
      if (r.ranTwiceBeforeKill)
        ctx.log(`recovery ${system}: the task ran elsewhere before the kill (lease not kept alive)`);
      if (r.ms === undefined || r.ranTwiceBeforeKill) failures++;
      else runs.push(r.ms);
    }
    baseline ??= label;
    if (runs.length) {
      results.push({
        scenario,
        system: label,
        metric: 'mean',
        value: round1(runs.reduce((s, x) => s + x, 0) / runs.length),
        unit: 'ms',
      });
      results.push({ scenario, system: label, metric: 'worst', value: round1(Math.max(...runs)), unit: 'ms' });
    }
    if (failures)
      results.push({
        scenario,
        system: label,
        metric: 'runs not recovered (or run twice before the kill)',
        value: failures,
        unit: 'runs',
      });
  }
  return { results, baselines: baseline ? { [scenario]: baseline } : {} };
}
