/**
 * EXPERIMENT (not used by the product): the MongoDB task store with start() and complete() coalesced.
 * Calls made in the same event-loop turn for leases of one token (a batch claim gives its whole batch
 * one token) become one updateMany over their ids, guarded exactly like the single writes (id, lease
 * token, from-status); when fewer documents changed than were asked for, one read tells which leases
 * still held. complete() is coalesced only for results that store as null (a no-op or void handler);
 * anything else takes the single write. Telemetry of the coalesced writes is left out of this copy.
 * See bench/compare/experiments/README.md.
 */
import type { Db } from 'mongodb';
import type { Lease, LeaseWriteResult } from '../../../lib/store/types.js';
import { MongoTaskStore, type MongoTaskStoreOptions } from '../../../lib/store/mongo/store.js';
import { stateChange } from '../../../lib/store/mongo/update.js';
import { JobTaskStatus as S, type JobTaskStatus } from '../../../lib/tasks/status.js';

interface Pending {
  lease: Lease;
  resolve: (r: LeaseWriteResult) => void;
  reject: (e: unknown) => void;
}

export class CoalescingTaskStore extends MongoTaskStore {
  private readonly queues = { start: new Map<string, Pending[]>(), complete: new Map<string, Pending[]>() };
  private flushQueued = false;
  /** updateMany writes sent, and the leases they carried (for the experiment's report). */
  readonly writeStats = { writes: 0, leases: 0 };

  constructor(db: Db, options: MongoTaskStoreOptions = {}) {
    super(db, options);
  }

  override start(lease: Lease): Promise<LeaseWriteResult> {
    return this.enqueue('start', lease);
  }

  override complete(lease: Lease, result?: unknown): Promise<LeaseWriteResult> {
    if (result !== undefined && result !== null) return super.complete(lease, result);
    return this.enqueue('complete', lease);
  }

  private enqueue(kind: 'start' | 'complete', lease: Lease): Promise<LeaseWriteResult> {
    return new Promise((resolve, reject) => {
      const q = this.queues[kind];
      q.set(lease.leaseToken, [...(q.get(lease.leaseToken) ?? []), { lease, resolve, reject }]);
      if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushQueued = false;
    for (const kind of ['start', 'complete'] as const) {
      const q = this.queues[kind];
      for (const [token, group] of q) void this.write(kind, token, group);
      q.clear();
    }
  }

  private async write(kind: 'start' | 'complete', token: string, group: Pending[]): Promise<void> {
    const now = new Date();
    const ids = [...new Set(group.map((p) => p.lease.taskId))];
    const from: JobTaskStatus = kind === 'start' ? S.Assigned : S.Running;
    const to: JobTaskStatus = kind === 'start' ? S.Running : S.Succeeded;
    const set = kind === 'start' ? { startedAt: now, heartbeatAt: now } : { result: null, finishedAt: now, heartbeatAt: now };
    try {
      this.writeStats.writes++;
      this.writeStats.leases += ids.length;
      const res = await this.tasks.updateMany(
        { _id: { $in: ids }, 'owner.leaseToken': token, status: { $in: [from] } },
        stateChange(to, { now, from, by: group[0]!.lease.workerId, set }),
      );
      let owned: Set<string>;
      if (res.modifiedCount === ids.length) owned = new Set(ids);
      else {
        // Some lease was lost (reclaimed, cancelled): ours are those now in `to` under our token, written now.
        const mine = await this.tasks.find({ _id: { $in: ids }, 'owner.leaseToken': token, status: to, updatedAt: now }, { projection: { _id: 1 } }).toArray();
        owned = new Set(mine.map((d) => d._id));
      }
      for (const p of group) p.resolve({ owned: owned.has(p.lease.taskId) });
    } catch (e) {
      for (const p of group) p.reject(e);
    }
  }
}
