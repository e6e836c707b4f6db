import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import type { Task } from '../../../tasks/model.js';
import { JobTaskStatus as S, leasedStatuses, type JobTaskStatus } from '../../../tasks/status.js';
import { transitionFrom } from '../../../tasks/transitions.js';
import { backoffDelay, type BackoffOptions } from '../../backoff.js';
import type { FailOptions, FailResult, HeartbeatResult, Lease, LeaseWriteResult, TaskFailure } from '../../types.js';
import { queries } from '../queries.js';
import { stateChange, touch } from '../update.js';

// Checked once against the transition table; the same lists go into the writes' filters.
const startFrom = transitionFrom([S.Assigned], S.Running);
const completeFrom = transitionFrom([S.Running], S.Succeeded);
const failFrom = transitionFrom(leasedStatuses, S.Error);
const retryFrom = transitionFrom(leasedStatuses, S.Retrying);
const timeoutFrom = transitionFrom(leasedStatuses, S.Timeout);
const cancelledFrom = transitionFrom(leasedStatuses, S.Cancelled);
const releaseFrom = transitionFrom(leasedStatuses, S.Queued);
void failFrom; void retryFrom; void timeoutFrom;

export interface LeaseOpsOptions {
  backoff: BackoffOptions;
}

/** Assigned -> Running, for any number of leases in one round trip (writeLeases). */
export function startMany(col: Collection<Task>, leases: readonly Lease[]): Promise<LeaseWriteResult[]> {
  return writeLeases(col, leases, {
    from: startFrom,
    to: S.Running,
    applied: [S.Running],
    set: (now) => ({ startedAt: now, heartbeatAt: now }),
  });
}

export async function heartbeat(col: Collection<Task>, lease: Lease, progress?: unknown): Promise<HeartbeatResult> {
  const now = new Date();
  const doc = await col.findOneAndUpdate(
    queries.leased.filter(lease.taskId, lease.leaseToken, leasedStatuses),
    touch(now, { heartbeatAt: now, ...(progress !== undefined ? { progress } : {}) }),
    { returnDocument: 'after', projection: { cancelRequested: 1 } },
  );
  return doc ? { owned: true, cancelRequested: doc.cancelRequested === true } : { owned: false, cancelRequested: false };
}

/** One updateMany and one read per lease token, whatever the number of tasks. */
export async function heartbeatMany(col: Collection<Task>, leases: readonly Lease[]): Promise<Map<string, HeartbeatResult>> {
  const now = new Date();
  const byToken = new Map<string, string[]>();
  for (const l of leases) byToken.set(l.leaseToken, [...(byToken.get(l.leaseToken) ?? []), l.taskId]);
  const out = new Map<string, HeartbeatResult>();
  for (const l of leases) out.set(l.taskId, { owned: false, cancelRequested: false });
  await Promise.all(
    [...byToken].map(async ([token, ids]) => {
      const filter = queries.leasedManyFrom.filter(ids, token, leasedStatuses);
      await col.updateMany(filter, touch(now, { heartbeatAt: now }));
      const owned = await col.find(filter, { projection: { _id: 1, cancelRequested: 1 } }).toArray();
      for (const d of owned) out.set(d._id, { owned: true, cancelRequested: d.cancelRequested === true });
    }),
  );
  return out;
}

/**
 * Running -> Succeeded with the handler's result: a write of its own, so that a result the server
 * refuses (too large, not serialisable) fails only its own task.
 */
export async function complete(col: Collection<Task>, lease: Lease, result: unknown): Promise<LeaseWriteResult> {
  const now = new Date();
  const res = await col.updateOne(
    queries.leased.filter(lease.taskId, lease.leaseToken, completeFrom),
    stateChange(S.Succeeded, { now, from: S.Running, by: lease.workerId, set: { result: result === undefined ? null : result, finishedAt: now, heartbeatAt: now } }),
  );
  return { owned: res.matchedCount === 1 };
}

/** Running -> Succeeded without a result (stored as null), for any number of leases in one round trip. */
export function completeManyWithoutResult(col: Collection<Task>, leases: readonly Lease[]): Promise<LeaseWriteResult[]> {
  return writeLeases(col, leases, {
    from: completeFrom,
    to: S.Succeeded,
    // Retention may already have moved a task we completed on.
    applied: [S.Succeeded, S.Archived, S.Deleted],
    set: (now) => ({ result: null, finishedAt: now, heartbeatAt: now }),
  });
}

interface LeaseWriteSpec {
  from: readonly JobTaskStatus[];
  to: JobTaskStatus;
  /** Statuses that, under the caller's lease token, show the write applied. */
  applied: readonly JobTaskStatus[];
  set: (now: Date) => Partial<Task>;
}

/**
 * One state change, the same for every lease, in one round trip; each document still guarded by its
 * id, the lease token and the from-states. Leases of one token and worker (a batch claim's) go as one
 * updateMany, other leases as one updateOne each, all in one unordered bulk write. When fewer documents
 * matched than leases were given, one read by id tells which leases held: a task is ours if it still
 * carries our token in a status this write leads to (a lost lease carries another token or none).
 */
async function writeLeases(col: Collection<Task>, leases: readonly Lease[], spec: LeaseWriteSpec): Promise<LeaseWriteResult[]> {
  if (leases.length === 0) return [];
  const now = new Date();
  const update = (lease: Lease) => stateChange(spec.to, { now, from: spec.from.length === 1 ? spec.from[0]! : null, by: lease.workerId, set: spec.set(now) });
  const byToken = new Map<string, Lease[]>();
  for (const lease of leases) {
    const key = `${lease.leaseToken}\u0000${lease.workerId}`;
    byToken.set(key, [...(byToken.get(key) ?? []), lease]);
  }
  const ops = [...byToken.values()].map((group): AnyBulkWriteOperation<Task> => {
    const first = group[0]!;
    return group.length === 1
      ? { updateOne: { filter: queries.leased.filter(first.taskId, first.leaseToken, spec.from), update: update(first) } }
      : { updateMany: { filter: queries.leasedManyFrom.filter(group.map((l) => l.taskId), first.leaseToken, spec.from), update: update(first) } };
  });
  const res = await col.bulkWrite(ops, { ordered: false });
  if (res.matchedCount >= leases.length) return leases.map(() => ({ owned: true }));
  if (leases.length === 1) return [{ owned: false }];
  const docs = await col.find(queries.byIds.filter([...new Set(leases.map((l) => l.taskId))]), { projection: { status: 1, 'owner.leaseToken': 1 } }).toArray();
  const byId = new Map(docs.map((d) => [d._id, d]));
  return leases.map((lease) => {
    const d = byId.get(lease.taskId);
    return { owned: d !== undefined && d.owner?.leaseToken === lease.leaseToken && spec.applied.includes(d.status) };
  });
}

/**
 * Failure and timeout share one path: the error is recorded; with attempts left (and retryable) the
 * task goes Retrying, due after backoff; otherwise it ends in `terminal` (Error or Timeout).
 * The lease's attempt number is exact: only a claim changes attempts, and a claim changes the token.
 */
export async function failWith(
  col: Collection<Task>,
  lease: Lease,
  error: TaskFailure,
  terminal: typeof S.Error | typeof S.Timeout,
  opts: FailOptions & LeaseOpsOptions & { taskMaxRetries?: number },
): Promise<FailResult> {
  const now = new Date();
  const current = await col.findOne(queries.leased.filter(lease.taskId, lease.leaseToken, leasedStatuses), { projection: { maxRetries: 1, status: 1 } });
  if (!current) return { owned: false };
  const maxRetries = opts.maxRetries ?? current.maxRetries;
  const retry = opts.retryable !== false && lease.attempt <= maxRetries;
  const to: JobTaskStatus = retry ? S.Retrying : terminal;
  const taskError = { message: error.message, ...(error.stack ? { stack: error.stack } : {}), kind: error.kind ?? (terminal === S.Timeout ? 'Timeout' : 'Error'), workerId: lease.workerId, attempt: lease.attempt, at: now };
  const nextAttemptAt = retry ? new Date(now.getTime() + backoffDelay(lease.attempt, opts.backoff)) : undefined;
  const set: Partial<Task> = retry ? { owner: null, heartbeatAt: null, nextAttemptAt: nextAttemptAt! } : { finishedAt: now };
  const res = await col.updateOne(
    queries.leased.filter(lease.taskId, lease.leaseToken, [current.status]),
    stateChange(to, { now, from: current.status, by: lease.workerId, reason: error.message.slice(0, 500), set, error: taskError }),
  );
  if (res.matchedCount !== 1) return { owned: false };
  return { owned: true, status: to, ...(nextAttemptAt ? { nextAttemptAt } : {}) };
}

export async function cancelled(col: Collection<Task>, lease: Lease, reason?: string): Promise<LeaseWriteResult> {
  const now = new Date();
  const res = await col.updateOne(
    queries.leased.filter(lease.taskId, lease.leaseToken, cancelledFrom),
    stateChange(S.Cancelled, { now, by: lease.workerId, reason: reason ?? 'cancel requested', set: { finishedAt: now } }),
  );
  return { owned: res.matchedCount === 1 };
}

/** Back to Queued, attempt not counted (graceful shutdown; the task was not at fault). */
export async function release(col: Collection<Task>, lease: Lease, reason?: string): Promise<LeaseWriteResult> {
  const now = new Date();
  const res = await col.updateOne(
    queries.leased.filter(lease.taskId, lease.leaseToken, releaseFrom),
    stateChange(S.Queued, { now, by: lease.workerId, reason: reason ?? 'released', set: { owner: null, heartbeatAt: null, startedAt: null, nextAttemptAt: now }, inc: { attempts: -1 } }),
  );
  return { owned: res.matchedCount === 1 };
}
