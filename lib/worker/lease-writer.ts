import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.js';
import type { Task } from '../tasks/model.js';
import { JobTaskStatus as S, type JobTaskStatus } from '../tasks/status.js';
import type { FailOptions, FailResult, Lease, LeaseWriteResult, TaskFailure, TaskStore } from '../store/types.js';
import { DatabaseUnavailableError, type StorePolicy } from '../db/resilience.js';

export interface LeaseWriterOptions {
  store: TaskStore;
  policy: StorePolicy;
  logger: Logger;
  /**
   * Whether to keep trying a write while the database is unavailable. A worker's outcome must not be
   * lost to an outage, so writes wait it out; only a stopping worker past its deadline gives up (the
   * task stays leased and the reclaimer retries it).
   */
  keepTrying(): boolean;
}

/**
 * The worker's lease-guarded writes, made safe to retry.
 *
 * A write retried after a transient error may find that its first try did apply (the reply was lost):
 * the retry then matches nothing and says owned=false. Taken at face value the worker would report a
 * task it finished as lost, and skip whatever it does on success. So whenever a write that said
 * owned=false had an earlier try, the task is re-read and checked for that write's own mark: our lease
 * token with the target status, or the error entry/history entry the write adds.
 */
export class LeaseWriter {
  constructor(private readonly o: LeaseWriterOptions) {}

  start(lease: Lease): Promise<LeaseWriteResult> {
    return this.persist('start', lease, () => this.o.store.start(lease), (t) => (ownedBy(t, lease) && t.status === S.Running ? { owned: true } : null));
  }

  complete(lease: Lease, result: unknown): Promise<LeaseWriteResult> {
    return this.persist('complete', lease, () => this.o.store.complete(lease, result), (t) =>
      ownedBy(t, lease) && (t.status === S.Succeeded || t.status === S.Archived || t.status === S.Deleted) ? { owned: true } : null,
    );
  }

  fail(lease: Lease, failure: TaskFailure & { kind: string }, opts: FailOptions): Promise<FailResult> {
    return this.persist('fail', lease, () => this.o.store.fail(lease, failure, opts), (t) => failApplied(t, lease, failure, S.Error));
  }

  timedOut(lease: Lease, failure: TaskFailure & { kind: string }, opts: FailOptions): Promise<FailResult> {
    return this.persist('timedOut', lease, () => this.o.store.timedOut(lease, failure, opts), (t) => failApplied(t, lease, failure, S.Timeout));
  }

  cancelled(lease: Lease, reason: string): Promise<LeaseWriteResult> {
    return this.persist('cancelled', lease, () => this.o.store.cancelled(lease, reason), (t) =>
      ownedBy(t, lease) && (t.status === S.Cancelled || t.status === S.Archived || t.status === S.Deleted) ? { owned: true } : null,
    );
  }

  /** The reason carries the lease token: release clears the owner, so that is how a retry recognises its own release. */
  release(lease: Lease, why: string): Promise<LeaseWriteResult> {
    const reason = `${why} [lease ${lease.leaseToken}]`;
    return this.persist('release', lease, () => this.o.store.release(lease, reason), (t) =>
      t.history.some((h) => h.to === S.Queued && h.reason === reason) ? { owned: true } : null,
    );
  }

  private async persist<R extends LeaseWriteResult>(op: string, lease: Lease, write: () => Promise<R>, appliedByUs: (t: Task) => R | null): Promise<R> {
    let tries = 0;
    let pauses = 0;
    for (;;) {
      try {
        const res = await this.o.policy.execute(() => {
          tries++;
          return write();
        });
        if (res.owned || tries === 1) return res;
        const task = await this.o.policy.execute(() => this.o.store.get(lease.taskId));
        const mine = task ? appliedByUs(task) : null;
        if (mine) {
          this.o.logger.info('an earlier try of the write had applied; outcome kept', { op, taskId: lease.taskId, tries });
          return mine;
        }
        return res;
      } catch (e) {
        if (!(e instanceof DatabaseUnavailableError)) throw e;
        if (!this.o.keepTrying()) throw e;
        if (pauses++ % 10 === 0) this.o.logger.warn('database unavailable; the write waits for it', { op, taskId: lease.taskId, error: e.message });
        await sleep(this.o.policy.pauseMs);
      }
    }
  }
}

function ownedBy(t: Task, lease: Lease): boolean {
  return t.owner?.leaseToken === lease.leaseToken;
}

/** A fail/timeout write leaves an error entry with our worker, attempt, kind and message (the retry path clears the owner, so the token is gone). */
function failApplied(t: Task, lease: Lease, failure: TaskFailure & { kind: string }, terminal: JobTaskStatus): FailResult | null {
  const entry = t.errors.some((e) => e.workerId === lease.workerId && e.attempt === lease.attempt && e.kind === failure.kind && e.message === failure.message);
  if (!entry) return null;
  const status: JobTaskStatus = ownedBy(t, lease) && t.status === terminal ? terminal : S.Retrying;
  return { owned: true, status };
}
