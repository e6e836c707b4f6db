import type { NewTask } from '../tasks/model.js';
import { JobTaskStatus as S } from '../tasks/status.js';
import type {
  CancelResult,
  ClaimedTask,
  FailResult,
  IngestResult,
  Lease,
  LeaseEndResult,
  ReclaimResult,
} from './task-store.js';
import { taskAttributes, taskMetrics } from '../telemetry/metrics.js';

interface AttemptTiming {
  type: string;
  claimedAt: number;
  startedAt?: number;
}

/** Leases remembered at most; a worker that never settles its leases (crash) cannot grow this without bound. */
const MAX_TRACKED = 10_000;

/**
 * What the task store reports to the metrics: one method per store operation, called with the
 * operation's input and result. It remembers each lease's task type and claim/start time (in this
 * process), so complete/fail can record the attempt's duration without another database read.
 */
export class StoreInstrumentation {
  private readonly attempts = new Map<string, AttemptTiming>();

  ingested(input: readonly NewTask[], result: IngestResult): void {
    const perType = new Map<string, { inserted: number; duplicates: number }>();
    result.items.forEach((item, i) => {
      const type = input[i]?.type ?? 'unknown';
      const c = perType.get(type) ?? { inserted: 0, duplicates: 0 };
      if (item.duplicate) c.duplicates++;
      else c.inserted++;
      perType.set(type, c);
    });
    for (const [type, c] of perType) {
      taskMetrics.ingested(c.inserted, taskAttributes(type));
      taskMetrics.duplicates(c.duplicates, taskAttributes(type));
    }
  }

  claimed(claimed: readonly ClaimedTask[], elapsedMs: number, batch: boolean): void {
    taskMetrics.claimLatency(elapsedMs, { 'claim.batch': batch, 'claim.empty': claimed.length === 0 });
    const perType = new Map<string, number>();
    for (const { task, lease } of claimed) {
      perType.set(task.type, (perType.get(task.type) ?? 0) + 1);
      const at = task.owner?.acquiredAt.getTime() ?? Date.now();
      taskMetrics.enqueueToStart(
        at - task.createdAt.getTime(),
        taskAttributes(task.type, { 'task.retry': lease.attempt > 1 }),
      );
      this.remember(lease, { type: task.type, claimedAt: at });
    }
    for (const [type, n] of perType) taskMetrics.claimed(n, taskAttributes(type));
  }

  started(lease: Lease, owned: boolean): void {
    const t = this.attempts.get(key(lease));
    if (owned && t) t.startedAt = Date.now();
  }

  succeeded(lease: Lease, owned: boolean): void {
    if (!owned) return this.forget(lease);
    const t = this.finish(lease, 'succeeded');
    taskMetrics.succeeded(1, taskAttributes(t?.type));
  }

  /** fail() and timedOut(): a failed attempt; final unless the task went Retrying. */
  failed(lease: Lease, result: FailResult, kind: 'error' | 'timeout'): void {
    if (!result.owned) return this.forget(lease);
    // A cancel had been requested: the attempt's end cancelled the task (counted as the worker's cancel).
    if (result.status === S.Cancelled) return this.cancelledByWorker(lease, true);
    const t = this.finish(lease, kind === 'timeout' ? 'timed_out' : 'failed');
    const final = result.status !== S.Retrying;
    const attrs = taskAttributes(t?.type, { 'failure.kind': kind, 'task.final': final });
    taskMetrics.failed(1, attrs);
    if (kind === 'timeout') taskMetrics.timedOut(1, attrs);
    if (!final) taskMetrics.retried(1, taskAttributes(t?.type, { 'retry.reason': kind }));
  }

  /** The worker acknowledged a cancel request. */
  cancelledByWorker(lease: Lease, owned: boolean): void {
    if (!owned) return this.forget(lease);
    const t = this.finish(lease, 'cancelled');
    taskMetrics.cancelled(1, taskAttributes(t?.type, { 'cancel.by': 'worker' }));
  }

  released(lease: Lease, result: LeaseEndResult): void {
    if (result.owned && result.status === S.Cancelled) return this.cancelledByWorker(lease, true);
    this.forget(lease);
  }

  /** An operator's cancel: only a waiting task is cancelled at once (a running one is cancelled when its worker acknowledges). */
  cancelled(result: CancelResult): void {
    if (result.outcome === 'cancelled')
      taskMetrics.cancelled(1, taskAttributes(result.task?.type, { 'cancel.by': 'operator' }));
  }

  retriedByOperator(type: string): void {
    taskMetrics.retried(1, taskAttributes(type, { 'retry.reason': 'operator' }));
  }

  reclaimed(result: ReclaimResult): void {
    taskMetrics.reclaimed(result.retried, { 'reclaim.outcome': 'retried' });
    taskMetrics.reclaimed(result.timedOut, { 'reclaim.outcome': 'timed_out' });
    taskMetrics.reclaimed(result.cancelled, { 'reclaim.outcome': 'cancelled' });
  }

  private remember(lease: Lease, timing: AttemptTiming): void {
    if (this.attempts.size >= MAX_TRACKED) {
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
    this.attempts.set(key(lease), timing);
  }

  private finish(lease: Lease, outcome: string): AttemptTiming | undefined {
    const t = this.attempts.get(key(lease));
    this.forget(lease);
    if (t)
      taskMetrics.processingDuration(
        Date.now() - (t.startedAt ?? t.claimedAt),
        taskAttributes(t.type, { 'task.outcome': outcome }),
      );
    return t;
  }

  private forget(lease: Lease): void {
    this.attempts.delete(key(lease));
  }
}

const key = (lease: Lease) => `${lease.taskId}\u0000${lease.leaseToken}`;
