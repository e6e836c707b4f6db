import type { Collection } from 'mongodb';
import { errorMessage } from '../../errors/message.js';
import type { Task, TaskError } from '../../tasks/model.js';
import { JobTaskStatus as S, type JobTaskStatus } from '../../tasks/status.js';
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import { isTransientDbError } from '../errors.js';
import { newWriteId } from '../ids.js';
import { boundText, storedLimits } from '../limits.js';
import type * as api from '../task-store.js';
import { queries } from './queries.js';
import type { ServerClock } from './server-clock.js';
import { entryWritten, failApplied, writeEntry } from './write-outcomes.js';
import { writes } from './writes.js';

// The writes that end a lease badly: the worker's fail and timeout, its release, the reclaimer's take-back.
// Each applies only while no cancel is requested; otherwise the task ends Cancelled (writes.cancelledInstead),
// so a cancel request is never dropped by a lease ending, whichever path ends it. Only ./store.ts calls these.

export interface LeaseEndContext {
  tasks: Collection<Task>;
  backoff: BackoffOptions;
  clock: ServerClock;
}

type Terminal = typeof S.Error | typeof S.Timeout;
const isIn = (states: readonly JobTaskStatus[], s: JobTaskStatus) => states.includes(s);

/** An error as stored: message, stack and reason bounded in bytes (./../limits.ts). */
function errorRecord(error: api.TaskFailure, kind: string, workerId: string, attempt: number, at: Date): TaskError {
  const stack = error.stack ? { stack: boundText(error.stack, storedLimits.errorStackBytes) } : {};
  return { message: boundText(error.message, storedLimits.errorMessageBytes), ...stack, kind, workerId, attempt, at };
}

/**
 * Failure and timeout: the error is recorded; with attempts left (and retryable) the task goes Retrying,
 * due after backoff (and no earlier than minDelayMs), else `terminal`; with a cancel requested, Cancelled.
 * The lease's attempt is exact (only a claim changes attempts, and it changes the token). The read that
 * decides also shows whether an earlier try (same write id) applied.
 */
export async function endAttempt(
  c: LeaseEndContext,
  lease: api.Lease,
  error: api.TaskFailure,
  terminal: Terminal,
  opts: api.FailOptions,
): Promise<api.FailResult> {
  const w = opts.writeId ?? newWriteId();
  const statement = terminal === S.Timeout ? writes.timedOut : writes.fail;
  const projection = { ...writeEntry(w), maxRetries: 1, owner: 1, cancelRequested: 1 };
  const current = await c.tasks.findOne(queries.byId.filter(lease.taskId), { projection });
  if (!current) return { owned: false };
  const earlier = failApplied(current);
  if (earlier) return earlier;
  const held = current.owner?.leaseToken === lease.leaseToken && isIn(statement.from, current.status);
  if (!held) return { owned: false };
  const now = c.clock.now();
  const retry = opts.retryable !== false && lease.attempt <= (opts.maxRetries ?? current.maxRetries);
  const to: JobTaskStatus = retry ? S.Retrying : terminal;
  const delay = Math.max(backoffDelay(lease.attempt, c.backoff), opts.minDelayMs ?? 0);
  const due = retry ? { nextAttemptAt: new Date(now.getTime() + delay) } : {};
  const { workerId, attempt } = lease;
  const record = errorRecord(
    error,
    error.kind ?? (terminal === S.Timeout ? 'Timeout' : 'Error'),
    workerId,
    attempt,
    now,
  );
  const reason = boundText(record.message, storedLimits.reasonBytes);
  if (!current.cancelRequested) {
    const update = statement.update({ now, from: current.status, to, by: workerId, reason, error: record, w, ...due });
    const res = await c.tasks.updateOne(statement.filter(lease, current.status), update);
    if (res.matchedCount === 1) return { owned: true, status: to, ...due };
  }
  const why = `cancel requested; the attempt ${terminal === S.Timeout ? 'timed out' : 'failed'}: ${reason}`;
  const instead = { now, from: current.status, by: workerId, reason: boundText(why, storedLimits.reasonBytes) };
  const res = await c.tasks.updateOne(
    writes.cancelledInstead.filter(lease),
    writes.cancelledInstead.update({ ...instead, error: record, w }),
  );
  if (res.matchedCount === 1) return { owned: true, status: S.Cancelled };
  const later = await c.tasks.findOne(queries.byId.filter(lease.taskId), { projection: writeEntry(w) });
  return (later && failApplied(later)) ?? { owned: false };
}

/** Back to Queued (not claimable before minDelayMs), or Cancelled when a cancel was requested. */
export async function releaseLease(
  c: LeaseEndContext,
  lease: api.Lease,
  reason: string,
  opts: api.ReleaseOptions,
): Promise<api.LeaseEndResult> {
  const w = opts.writeId ?? newWriteId();
  const now = c.clock.now();
  const due = new Date(now.getTime() + (opts.minDelayMs ?? 0));
  const res = await c.tasks.updateOne(
    writes.release.filter(lease),
    writes.release.update(lease, now, w, { reason, due }),
  );
  if (res.matchedCount === 1) return { owned: true, status: S.Queued };
  const why = boundText(`cancel requested; released: ${reason}`, storedLimits.reasonBytes);
  const instead = await c.tasks.updateOne(
    writes.cancelledInstead.filter(lease),
    writes.cancelledInstead.update({ now, by: lease.workerId, reason: why, w }),
  );
  if (instead.matchedCount === 1) return { owned: true, status: S.Cancelled };
  const doc = await c.tasks.findOne(queries.byId.filter(lease.taskId), { projection: writeEntry(w) });
  const entry = doc ? entryWritten(doc) : undefined;
  return entry ? { owned: true, status: entry.to } : { owned: false };
}

type Stalled = Pick<
  Task,
  '_id' | 'type' | 'owner' | 'attempts' | 'maxRetries' | 'status' | 'heartbeatAt' | 'cancelRequested'
>;

/**
 * Tasks whose owner stopped heartbeating lose their lease. The cutoff is the database server's time minus
 * the timeout (heartbeats carry the server's time too), so no process's clock decides. Each write is
 * conditional on the lease token it saw and on the heartbeat still being stale, so a reclaimer racing
 * another reclaimer (or an owner whose heartbeat just arrived) changes nothing and counts a lost race.
 * A task whose write the database refuses is counted and skipped; only a transient error (the database is
 * unreachable) stops the pass, to be retried whole.
 */
export async function reclaimStalled(c: LeaseEndContext, opts: api.ReclaimOptions): Promise<api.ReclaimResult> {
  const now = opts.now ?? (await c.clock.sync());
  const cutoff = new Date(now.getTime() - opts.heartbeatTimeoutMs);
  const projection = {
    _id: 1,
    type: 1,
    owner: 1,
    attempts: 1,
    maxRetries: 1,
    status: 1,
    heartbeatAt: 1,
    cancelRequested: 1,
  };
  const limit = opts.limit ?? 1000;
  const stalled = await c.tasks.find(queries.stalled.filter(cutoff), { projection }).limit(limit).toArray();
  const result: api.ReclaimResult = {
    found: stalled.length,
    retried: 0,
    timedOut: 0,
    cancelled: 0,
    lostRaces: 0,
    failed: 0,
    failures: [],
    taskIds: [],
  };
  for (const t of stalled) {
    if (!t.owner) continue;
    let outcome: 'retried' | 'timedOut' | 'cancelled' | 'lostRaces';
    try {
      outcome = await reclaimOne(c, t, now, cutoff, opts);
    } catch (e) {
      if (isTransientDbError(e)) throw e;
      result.failed++;
      result.failures.push({ taskId: t._id, message: boundText(errorMessage(e), storedLimits.reasonBytes) });
      continue;
    }
    result[outcome]++;
    if (outcome !== 'lostRaces') result.taskIds.push(t._id);
  }
  return result;
}

async function reclaimOne(c: LeaseEndContext, t: Stalled, now: Date, cutoff: Date, opts: api.ReclaimOptions) {
  const owner = t.owner!;
  const lease = { taskId: t._id, leaseToken: owner.leaseToken };
  const by = opts.by ?? 'reclaimer';
  const since = t.heartbeatAt?.toISOString() ?? 'never';
  const message = `lease expired: worker ${owner.workerId} sent no heartbeat since ${since} (timeout ${opts.heartbeatTimeoutMs} ms)`;
  const error = { message, kind: 'LeaseExpired', workerId: owner.workerId, attempt: t.attempts, at: now };
  // The reclaiming deployment's handler limit, else the one start() recorded on the task (the same when both exist).
  const retry = t.attempts <= (opts.maxRetriesOf?.(t.type) ?? t.maxRetries);
  if (!t.cancelRequested) {
    const due = retry ? { nextAttemptAt: new Date(now.getTime() + backoffDelay(t.attempts, c.backoff)) } : {};
    const end = { now, from: t.status, to: retry ? S.Retrying : S.Timeout, by, reason: 'lease expired', error, ...due };
    const res = await c.tasks.updateOne(
      writes.reclaim.filter(t._id, owner.leaseToken, cutoff),
      writes.reclaim.update(end),
    );
    if (res.matchedCount === 1) return retry ? 'retried' : 'timedOut';
  }
  const instead = { now, from: t.status, by, reason: 'cancel requested; lease expired', error, dropOwner: true };
  const res = await c.tasks.updateOne(
    writes.cancelledInstead.filter(lease, cutoff),
    writes.cancelledInstead.update(instead),
  );
  return res.matchedCount === 1 ? 'cancelled' : 'lostRaces';
}
