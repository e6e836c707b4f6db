/**
 * Sizes (all overridable by environment variables) and the per-system settings every scenario uses.
 * Defaults keep at most a few thousand tasks waiting (mongo-java-server scans waiting tasks for a
 * sorted claim) and the whole `npm run bench` under ~15 minutes on a 2-core machine.
 */
import type { LeaseSettings, SystemName } from './types.js';
import { systemNames, isSystemName } from './types.js';

function envInt(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}: expected a non-negative number, got "${raw}"`);
  return Math.floor(v);
}

function envList(name: string, fallback: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return [...fallback];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const scenarioNames = [
  'enqueue',
  'throughput',
  'processes',
  'latency',
  'wake',
  'recovery',
  'memory',
  'batch',
] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export interface CompareSizes {
  /** enqueueOne: tasks per system, one call each, sequentially. */
  enqueueOne: number;
  /** enqueueBulk: tasks per system, in chunks of `bulkChunk`. */
  enqueueBulk: number;
  bulkChunk: number;
  /** Claim-and-complete, one process: tasks per system and concurrency. */
  tasks: number;
  /** Claim-and-complete, 4 processes: tasks per system and concurrency. */
  processTasks: number;
  processes: number;
  concurrencies: number[];
  /** A throughput run stops after this long even if tasks remain (pg-boss's poll-bound loop is slow at concurrency 1). */
  maxRunMs: number;
  /** Poll interval of taskmesh and Agenda in the throughput runs (pg-boss cannot go below 500 ms). */
  throughputPollMs: number;
  /**
   * Tasks per second in the latency scenario. 20/s by default: at concurrency 16 and a 500 ms poll,
   * Agenda (lockLimit per processEvery) and pg-boss (batchSize per poll) take at most 32 tasks/s, so at
   * 100/s their queue grows and the figure would be queueing, not latency.
   */
  latencyRate: number;
  latencySeconds: number;
  latencyConcurrency: number;
  /** Poll interval of every polling system in the latency scenario (pg-boss's minimum is 500 ms). */
  latencyPollMs: number;
  recoveryRuns: number;
  /** BENCH_MEMORY_TASKS: 20,000 by default so `npm run bench` stays under ~15 min; the figure is for 100,000 (about 8 min here). */
  memoryTasks: number;
  /** Memory scenario: tasks waiting at most (the feeder tops up to this). */
  memoryWave: number;
  batchTasks: number;
  systems: SystemName[];
  scenarios: ScenarioName[];
}

export function compareSizes(env: NodeJS.ProcessEnv = process.env): CompareSizes {
  const systems = envList('BENCH_COMPARE_SYSTEMS', systemNames, env);
  const bad = systems.filter((s) => !isSystemName(s));
  if (bad.length)
    throw new Error(`BENCH_COMPARE_SYSTEMS: unknown ${bad.join(', ')} (known: ${systemNames.join(', ')})`);
  const scenarios = envList('BENCH_COMPARE_SCENARIOS', scenarioNames, env);
  const badS = scenarios.filter((s) => !(scenarioNames as readonly string[]).includes(s));
  if (badS.length)
    throw new Error(`BENCH_COMPARE_SCENARIOS: unknown ${badS.join(', ')} (known: ${scenarioNames.join(', ')})`);
  return {
    enqueueOne: envInt('BENCH_COMPARE_ENQUEUE_ONE', 1_000, env),
    enqueueBulk: envInt('BENCH_COMPARE_ENQUEUE_BULK', 2_000, env),
    bulkChunk: Math.max(1, envInt('BENCH_COMPARE_BULK_CHUNK', 500, env)),
    tasks: envInt('BENCH_COMPARE_TASKS', 1_000, env),
    processTasks: envInt('BENCH_COMPARE_PROCESS_TASKS', 1_000, env),
    processes: Math.max(1, envInt('BENCH_COMPARE_PROCESSES', 4, env)),
    concurrencies: envList('BENCH_COMPARE_CONCURRENCY', ['1', '16', '64'], env)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0),
    maxRunMs: Math.max(1, envInt('BENCH_COMPARE_MAX_SECONDS', 15, env)) * 1000,
    throughputPollMs: envInt('BENCH_COMPARE_POLL_MS', 100, env),
    latencyRate: Math.max(1, envInt('BENCH_LATENCY_RATE', 20, env)),
    latencySeconds: Math.max(1, envInt('BENCH_LATENCY_SECONDS', 15, env)),
    latencyConcurrency: Math.max(1, envInt('BENCH_LATENCY_CONCURRENCY', 16, env)),
    latencyPollMs: Math.max(500, envInt('BENCH_LATENCY_POLL_MS', 500, env)),
    recoveryRuns: Math.max(1, envInt('BENCH_RECOVERY_RUNS', 2, env)),
    memoryTasks: envInt('BENCH_MEMORY_TASKS', 20_000, env),
    memoryWave: Math.max(100, envInt('BENCH_MEMORY_WAVE', 2_000, env)),
    batchTasks: envInt('BENCH_BATCH_TASKS', 2_000, env),
    systems: systems.filter(isSystemName),
    scenarios: scenarios as ScenarioName[],
  };
}

/** Outside the recovery scenario: long enough never to expire a no-op task, short enough that Agenda's per-job liveness timers (lockLifetime / 2) do not keep a finished run alive for long. */
export const throughputLease: LeaseSettings = { timeoutMs: 10_000, refreshMs: 2_000, checkMs: 10_000 };

/** Recovery: the same lease lifetime, renewal and expiry check for every system (as far as each allows). */
export const recoveryLease: LeaseSettings = { timeoutMs: 5_000, refreshMs: 1_000, checkMs: 1_000 };

/** Poll interval of the polling systems in the recovery scenario (pg-boss's minimum). */
export const recoveryPollMs = 500;

/** The lease settings in each system's own terms, for scenario names and docs. */
export function leaseTerms(system: SystemName, l: LeaseSettings, pollMs: number): string {
  const s = (ms: number) => `${ms / 1000}s`;
  switch (system) {
    case 'taskmesh':
      return `HeartbeatInterval ${s(l.refreshMs)}, HeartbeatTimeout ${s(l.timeoutMs)}, reclaimer every ${s(l.checkMs)}, RetryBaseDelay 0, PollingInterval ${pollMs}ms`;
    case 'agenda':
      return `lockLifetime ${s(l.timeoutMs)}, job.touch() every ${s(l.refreshMs)}, processEvery ${pollMs}ms`;
    case 'pgboss':
      return `expireInSeconds ${l.timeoutMs / 1000} (no heartbeat), maintenanceIntervalSeconds ${Math.max(1, l.checkMs / 1000)}, retryLimit 3, retryDelay 0, pollingIntervalSeconds ${Math.max(500, pollMs) / 1000}`;
    case 'bullmq':
      return `lockDuration ${s(l.timeoutMs)} (renewed every ${s(l.timeoutMs / 2)}), stalledInterval ${s(l.checkMs)}, maxStalledCount 1, blocking fetch (no poll)`;
  }
}

/** Recovery scenario name: every system's settings, so the table says what was compared. */
export const recoverySettingsText = (systems: readonly SystemName[]) =>
  systems.map((s) => `${s}: ${leaseTerms(s, recoveryLease, recoveryPollMs)}`).join('; ');
