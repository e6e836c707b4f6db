import type * as api from '../store/task-store.js';
import type { NewTask, Task } from '../tasks/model.js';
import { claimableStatuses, JobTaskStatus as S, type JobTaskStatus } from '../tasks/status.js';
import type { WakeTarget } from './wake-up.js';

/** Reclaimed tasks whose due time is read back for a delayed wake-up, per pass (more wait for the poll). */
const MAX_RECLAIM_READS = 100;

/**
 * The task store, announcing a wake-up after each write that makes a task claimable: ingest and API
 * creation (at its notBefore), an operator's retry, a release, a reclaim and a failed attempt's retry
 * (at the backoff's end), a versioned change back to a waiting status. The store stays the source of
 * truth: the announcement follows the write and is a hint; it never fails the write.
 */
export function announcingStore(store: api.TaskStore, wake: WakeTarget): api.TaskStore {
  return new AnnouncingStore(store, wake);
}

class AnnouncingStore implements api.TaskStore {
  constructor(
    private readonly s: api.TaskStore,
    private readonly wake: WakeTarget,
  ) {}

  /** Resolves once sent (within the coalescer's budget) or queued; never rejects. */
  private announce(count: number, at?: Date): Promise<void> {
    if (count <= 0) return Promise.resolve();
    return this.wake.announce(at && at.getTime() > Date.now() ? { count, at } : { count }).catch(() => undefined);
  }

  get deadLetters(): api.TaskStore['deadLetters'] {
    return this.s.deadLetters;
  }
  ensureIndexes(): Promise<void> {
    return this.s.ensureIndexes();
  }

  async ingest(tasks: readonly NewTask[], opts?: { by?: string }): Promise<api.IngestResult> {
    const result = await this.s.ingest(tasks, opts);
    const now = Date.now();
    let dueNow = 0;
    const later: Promise<void>[] = [];
    result.items.forEach((item, i) => {
      if (item.duplicate || tasks[i]?.failedReason) return;
      const notBefore = tasks[i]?.notBefore;
      if (notBefore && notBefore.getTime() > now) later.push(this.announce(1, notBefore));
      else dueNow++;
    });
    await Promise.all([this.announce(dueNow), ...later]);
    return result;
  }

  get(taskId: string): Promise<Task | null> {
    return this.s.get(taskId);
  }
  orderingKeys(filter?: { blocked?: boolean; limit?: number }): Promise<api.OrderingKeyState[]> {
    return this.s.orderingKeys(filter);
  }
  /** An unblocked key's next task is due now. */
  async unblockKey(key: string, opts?: { by?: string }): ReturnType<api.TaskStore['unblockKey']> {
    const r = await this.s.unblockKey(key, opts);
    if (r.outcome === 'unblocked' && r.state?.activeTaskId) await this.announce(1);
    return r;
  }
  list(filter: api.ListTasksFilter, page?: { limit?: number; cursor?: string | null }): Promise<api.ListTasksPage> {
    return this.s.list(filter, page);
  }
  isValidCursor(cursor: string): boolean {
    return this.s.isValidCursor(cursor);
  }
  claim(workerId: string, opts?: api.ClaimOptions): Promise<api.ClaimedTask[]> {
    return this.s.claim(workerId, opts);
  }
  start(lease: api.Lease, opts?: api.LeaseWriteOptions): Promise<api.LeaseWriteResult> {
    return this.s.start(lease, opts);
  }
  heartbeat(lease: api.Lease, opts?: { progress?: unknown }): Promise<api.HeartbeatResult> {
    return this.s.heartbeat(lease, opts);
  }
  heartbeatMany(leases: readonly api.Lease[]): Promise<Map<string, api.HeartbeatResult>> {
    return this.s.heartbeatMany(leases);
  }
  async complete(lease: api.Lease, result?: unknown, opts?: api.LeaseWriteOptions): Promise<api.LeaseWriteResult> {
    return this.handedOn(lease, await this.s.complete(lease, result, opts));
  }
  /** A finished task of an ordering key gives the key's next task its turn: that task is claimable now. */
  private async handedOn<R extends api.FailResult>(lease: api.Lease, r: R): Promise<R> {
    if (lease.orderingKey && r.owned && r.status !== S.Retrying) await this.announce(1);
    return r;
  }

  async fail(lease: api.Lease, error: api.TaskFailure, opts?: api.FailOptions): Promise<api.FailResult> {
    return this.handedOn(lease, await this.retrying(await this.s.fail(lease, error, opts)));
  }
  async timedOut(lease: api.Lease, error: api.TaskFailure, opts?: api.FailOptions): Promise<api.FailResult> {
    return this.handedOn(lease, await this.retrying(await this.s.timedOut(lease, error, opts)));
  }
  private async retrying(r: api.FailResult): Promise<api.FailResult> {
    if (r.owned && r.status === S.Retrying && r.nextAttemptAt) await this.announce(1, r.nextAttemptAt);
    return r;
  }

  async cancelled(lease: api.Lease, reason?: string, opts?: api.LeaseWriteOptions): Promise<api.LeaseWriteResult> {
    return this.handedOn(lease, await this.s.cancelled(lease, reason, opts));
  }
  async release(lease: api.Lease, reason?: string, opts?: api.LeaseWriteOptions): Promise<api.LeaseWriteResult> {
    const r = await this.s.release(lease, reason, opts);
    if (r.owned) await this.announce(1);
    return r;
  }
  async cancel(taskId: string, opts?: { by?: string; reason?: string }): Promise<api.CancelResult> {
    const r = await this.s.cancel(taskId, opts);
    if (r.outcome === 'cancelled' && r.task?.orderingKey) await this.announce(1); // the key's next task's turn
    return r;
  }
  async retry(taskId: string, opts?: { by?: string; expectedVersion?: number }): Promise<Task> {
    return this.claimable(await this.s.retry(taskId, opts));
  }
  async transition(taskId: string, update: api.VersionedUpdate): Promise<Task> {
    return this.claimable(await this.s.transition(taskId, update));
  }
  private async claimable(t: Task): Promise<Task> {
    if ((claimableStatuses as readonly JobTaskStatus[]).includes(t.status)) await this.announce(1, t.nextAttemptAt);
    return t;
  }

  async reclaim(opts: api.ReclaimOptions): Promise<api.ReclaimResult> {
    const r = await this.s.reclaim(opts);
    if (r.retried > 0) void this.announceReclaimed(r.taskIds);
    // A task that ended here may have handed its ordering key on; the hint costs at most one coalesced message.
    if (r.found > r.retried + r.lostRaces + r.failed) await this.announce(1);
    return r;
  }
  /** A reclaimed task is due after its backoff, which the result does not carry: read it back (rare; bounded). */
  private async announceReclaimed(taskIds: readonly string[]): Promise<void> {
    for (const id of taskIds.slice(0, MAX_RECLAIM_READS)) {
      const t = await this.s.get(id).catch(() => null);
      if (t?.status === S.Retrying) await this.announce(1, t.nextAttemptAt);
    }
  }

  applyRetention(opts: api.RetentionOptions): Promise<api.RetentionResult> {
    return this.s.applyRetention(opts);
  }
  stats(now?: Date): Promise<api.TaskStats> {
    return this.s.stats(now);
  }
  throughput(sinceMs: number, now?: Date): Promise<api.TaskThroughput> {
    return this.s.throughput(sinceMs, now);
  }
}
