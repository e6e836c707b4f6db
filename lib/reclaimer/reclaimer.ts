import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import type { AppConfig } from '../config/load.js';
import { createStorePolicy, type ResilienceOptions } from '../db/resilience.js';
import { errorMessage } from '../errors/message.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { createTaskStore } from '../store/create.js';
import type { TaskStore } from '../store/task-store.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { WorkerRegistry } from '../worker-registry/registry.js';
import { recordReclaimerRun } from './state.js';
import type { TaskDeadLetters } from '../dead-letters/index.js';
import type { ReclaimerStep, ReclaimerSummary } from './summary.js';

export interface ReclaimerOptions {
  db: Db;
  /** Default: createTaskStore(db, config). */
  store?: TaskStore;
  config: Pick<AppConfig, 'Worker' | 'Retention'> & Partial<Pick<AppConfig, 'Ordering'>>;
  logger?: Logger;
  /** Who runs the pass (a worker id, a function name); recorded in task history. */
  by?: string;
  /** The database server's time (tests). Unset: stalled leases are judged by the server's clock, never this process's. */
  now?: Date;
  /** Stalled tasks handled in one pass at most (they are read in pages of 1,000). */
  maxTasks?: number;
  /** DeadLetter:Queue: each pass sends the failed tasks not sent yet (those it timed out among them). */
  deadLetters?: Pick<TaskDeadLetters, 'sweep'>;
  /** Record the pass in `service_state` (default true). */
  record?: boolean;
  resilience?: ResilienceOptions;
  /** The deployment's handlers: a type's own maxRetries decides Retrying or Timeout, as in the worker. */
  handlers?: Pick<HandlerRegistry, 'maxRetriesOf'>;
}

const PAGE = 1_000;
const IDS_REPORTED = 100;

/**
 * One reclaimer pass: stalled tasks lose their lease (Retrying, or Timeout with no attempts left),
 * workers whose heartbeat is older than Worker:HeartbeatTimeout are marked dead, and finished tasks
 * are archived, deleted and purged by the Retention section (old stopped/dead worker records are
 * pruned after Retention:DeleteAfter). Every write is conditional, so passes are idempotent and
 * several may run at once. A failing step is reported and the others still run.
 */
export async function runReclaimer(o: ReclaimerOptions): Promise<ReclaimerSummary> {
  const startedAt = new Date();
  const at = o.now ? { now: o.now } : {};
  const now = o.now ?? startedAt;
  const by = o.by ?? 'reclaimer';
  const log = (o.logger ?? silentLogger).child({ component: 'reclaimer', by });
  const store = o.store ?? createTaskStore(o.db, o.config);
  const registry = new WorkerRegistry(o.db);
  const policy = createStorePolicy(log, o.resilience);
  const heartbeatTimeoutMs = o.config.Worker.HeartbeatTimeout;
  const summary: ReclaimerSummary = {
    runId: randomUUID(),
    by,
    startedAt,
    finishedAt: startedAt,
    durationMs: 0,
    tasks: { found: 0, retried: 0, timedOut: 0, cancelled: 0, lostRaces: 0, failed: 0, taskIds: [] },
    workers: { markedDead: [], pruned: 0 },
    retention: null,
    errors: [],
    ok: true,
  };
  const step = async (name: ReclaimerStep, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      summary.errors.push({ step: name, message: errorMessage(e) });
      log.error('reclaimer step failed', { step: name, error: e });
    }
  };

  await step('reclaim', async () => {
    const max = o.maxTasks ?? 10 * PAGE;
    for (;;) {
      const r = await policy.execute(() =>
        store.reclaim({
          heartbeatTimeoutMs,
          ...at,
          limit: Math.min(PAGE, max - summary.tasks.found),
          by,
          ...(o.handlers ? { maxRetriesOf: (type: string) => o.handlers!.maxRetriesOf(type) } : {}),
        }),
      );
      summary.tasks.found += r.found;
      summary.tasks.retried += r.retried;
      summary.tasks.timedOut += r.timedOut;
      summary.tasks.cancelled += r.cancelled;
      summary.tasks.lostRaces += r.lostRaces;
      summary.tasks.failed += r.failed;
      // One task the database refuses is skipped, never the pass: it is named here and counted.
      for (const f of r.failures)
        log.error('could not reclaim a task; skipped', { taskId: f.taskId, error: f.message });
      summary.tasks.taskIds.push(...r.taskIds.slice(0, IDS_REPORTED - summary.tasks.taskIds.length));
      if (r.found < PAGE || summary.tasks.found >= max) break;
    }
  });
  const deadLetters = o.deadLetters;
  if (deadLetters)
    await step('dead-letters', async () => {
      summary.deadLetters = await deadLetters.sweep(now);
    });
  await step('workers', async () => {
    summary.workers.markedDead = await policy.execute(() => registry.markDead(heartbeatTimeoutMs, now));
    summary.workers.pruned = await policy.execute(() => registry.prune(o.config.Retention.DeleteAfter, now));
  });
  await step('retention', async () => {
    const r = o.config.Retention;
    summary.retention = await policy.execute(() =>
      store.applyRetention({
        archiveAfterMs: r.ArchiveAfter,
        deleteAfterMs: r.DeleteAfter,
        purgeAfterMs: r.PurgeAfter,
        forgetKeysAfterMs: r.ForgetKeysAfter,
        ...at,
      }),
    );
  });

  summary.finishedAt = new Date();
  summary.durationMs = summary.finishedAt.getTime() - startedAt.getTime();
  summary.ok = summary.errors.length === 0 && summary.tasks.failed === 0;
  if (o.record !== false) {
    await step('record', () => policy.execute(() => recordReclaimerRun(o.db, summary)));
    summary.ok = summary.errors.length === 0 && summary.tasks.failed === 0;
  }
  const { taskIds, ...taskCounts } = summary.tasks;
  log[summary.ok ? 'info' : 'warn']('reclaimer pass', {
    runId: summary.runId,
    durationMs: summary.durationMs,
    tasks: taskCounts,
    reclaimedTaskIds: taskIds,
    workersMarkedDead: summary.workers.markedDead,
    workersPruned: summary.workers.pruned,
    retention: summary.retention,
    ...(summary.deadLetters ? { deadLetters: summary.deadLetters } : {}),
    errors: summary.errors,
  });
  return summary;
}
