/** What every scenario shares: the run's context, fresh adapters, progress tracking and small statistics. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchResult } from '../../result.js';
import type { CompareSizes } from '../settings.js';
import type { ServiceEndpoints } from '../services.js';
import { createAdapter, newNamespace } from '../systems.js';
import type { AdapterConfig, LeaseSettings, QueueAdapter, SystemName } from '../types.js';

export interface CompareContext {
  mongoUri: string;
  endpoints: ServiceEndpoints;
  sizes: CompareSizes;
  /** Systems that can run here (their service answered), in table order: taskmesh first. */
  systems: SystemName[];
  log(message: string): void;
}

export interface ScenarioOutput {
  results: BenchResult[];
  baselines: Record<string, string>;
}

export function adapterConfig(
  ctx: CompareContext,
  tag: string,
  pollMs: number,
  lease: LeaseSettings,
  extra: Partial<AdapterConfig> = {},
): AdapterConfig {
  return {
    ns: newNamespace(tag),
    mongoUri: ctx.mongoUri,
    pgUrl: ctx.endpoints.pgUrl,
    redis: ctx.endpoints.redis,
    pollMs,
    lease,
    ...extra,
  };
}

/** A fresh adapter in a fresh namespace; torn down (namespace dropped) whatever happens. */
export async function withAdapter<T>(
  system: SystemName,
  config: AdapterConfig,
  fn: (a: QueueAdapter) => Promise<T>,
): Promise<T> {
  const adapter = await createAdapter(system, config);
  try {
    await adapter.setup();
    return await fn(adapter);
  } finally {
    await adapter.teardown({ drop: true }).catch(() => undefined);
  }
}

export async function enqueueAll(a: QueueAdapter, count: number, chunk: number, from = 0): Promise<void> {
  for (let i = 0; i < count; i += chunk) await a.enqueueBulk(range(from + i, Math.min(chunk, count - i)));
}

export const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

/** Counts starts and completions by task number; notices a task started or finished twice. */
export class Progress {
  readonly startedAt = new Map<number, number>();
  readonly finished = new Set<number>();
  duplicateStarts = 0;
  duplicateDone = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  started(n: number, at = performance.now()): void {
    if (this.startedAt.has(n)) this.duplicateStarts++;
    else this.startedAt.set(n, at);
  }

  done(n: number): void {
    if (this.finished.has(n)) this.duplicateDone++;
    this.finished.add(n);
    this.waiters = this.waiters.filter((w) => {
      if (this.finished.size < w.count) return true;
      w.resolve();
      return false;
    });
  }

  get doneCount(): number {
    return this.finished.size;
  }

  /** True when `count` tasks are done before `timeoutMs`. */
  async doneBy(count: number, timeoutMs: number): Promise<boolean> {
    if (this.finished.size >= count) return true;
    const ac = new AbortController();
    const reached = new Promise<boolean>((resolve) => this.waiters.push({ count, resolve: () => resolve(true) }));
    const out = await Promise.race([reached, sleep(timeoutMs, false, { signal: ac.signal }).catch(() => false)]);
    ac.abort();
    return out;
  }
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function until(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 20,
): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() >= end) return false;
    await sleep(everyMs);
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
export const mb = (bytes: number) => round1(bytes / 1024 / 1024);
