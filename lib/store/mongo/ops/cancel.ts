import type { Collection } from 'mongodb';
import type { Task } from '../../../tasks/model.js';
import { JobTaskStatus as S, leasedStatuses, retryableByOperatorStatuses, waitingStatuses, allStatuses, type JobTaskStatus } from '../../../tasks/status.js';
import { InvalidTransitionError, canTransition, transitionFrom } from '../../../tasks/transitions.js';
import { TaskNotFoundError, TaskStateError, VersionConflictError } from '../../errors.js';
import type { CancelResult, VersionedUpdate } from '../../types.js';
import { queries } from '../queries.js';
import { stateChange, touch } from '../update.js';

const cancelWaitingFrom = transitionFrom(waitingStatuses, S.Cancelled);
const retryFrom = transitionFrom(retryableByOperatorStatuses, S.Retrying);
const MAX_CONFLICT_RETRIES = 5;

/**
 * Reads the task, decides, and writes conditional on the version it read. On a lost race it reads
 * again and decides again (the task may have started meanwhile); it never overwrites blindly.
 */
export async function cancel(col: Collection<Task>, taskId: string, by?: string, reason?: string): Promise<CancelResult> {
  for (let i = 0; i < MAX_CONFLICT_RETRIES; i++) {
    const task = await col.findOne(queries.byId.filter(taskId));
    if (!task) return { outcome: 'not-found', task: null };
    const now = new Date();
    if ((cancelWaitingFrom as readonly number[]).includes(task.status)) {
      const updated = await col.findOneAndUpdate(
        queries.versioned.filter(taskId, task.version, [task.status]),
        stateChange(S.Cancelled, { now, from: task.status, by, reason: reason ?? 'cancelled', set: { finishedAt: now, cancelRequested: true } }),
        { returnDocument: 'after' },
      );
      if (updated) return { outcome: 'cancelled', task: updated };
      continue;
    }
    if ((leasedStatuses as readonly number[]).includes(task.status)) {
      if (task.cancelRequested) return { outcome: 'requested', task };
      const updated = await col.findOneAndUpdate(queries.versioned.filter(taskId, task.version, [task.status]), touch(now, { cancelRequested: true }), { returnDocument: 'after' });
      if (updated) return { outcome: 'requested', task: updated };
      continue;
    }
    return { outcome: 'already-finished', task };
  }
  const latest = await col.findOne(queries.byId.filter(taskId));
  throw new VersionConflictError(taskId, -1, latest?.version ?? null, latest?.status);
}

/** An operator's retry: a failed/errored/timed-out/cancelled task goes Retrying, due now, with one more attempt allowed. */
export async function retry(col: Collection<Task>, taskId: string, by?: string, expectedVersion?: number): Promise<Task> {
  const task = await col.findOne(queries.byId.filter(taskId));
  if (!task) throw new TaskNotFoundError(taskId);
  if (expectedVersion !== undefined && task.version !== expectedVersion) throw new VersionConflictError(taskId, expectedVersion, task.version, task.status);
  if (!(retryFrom as readonly number[]).includes(task.status)) throw new TaskStateError(taskId, task.status, 'retry');
  const now = new Date();
  const updated = await col.findOneAndUpdate(
    queries.versioned.filter(taskId, task.version, [task.status]),
    stateChange(S.Retrying, {
      now,
      from: task.status,
      by,
      reason: 'retried by operator',
      set: { nextAttemptAt: now, owner: null, heartbeatAt: null, cancelRequested: false, finishedAt: null, maxRetries: Math.max(task.maxRetries, task.attempts) },
    }),
    { returnDocument: 'after' },
  );
  if (!updated) {
    const latest = await col.findOne(queries.byId.filter(taskId));
    throw new VersionConflictError(taskId, task.version, latest?.version ?? null, latest?.status);
  }
  return updated;
}

/**
 * A versioned state change by someone who holds no lease (operators, tools). Leased states are
 * excluded as sources: only the owner (or the reclaimer) may move a task out of them.
 */
export async function transition(col: Collection<Task>, taskId: string, u: VersionedUpdate): Promise<Task> {
  const from = allStatuses.filter((s) => canTransition(s, u.to) && !(leasedStatuses as readonly number[]).includes(s)) as JobTaskStatus[];
  const now = new Date();
  const updated = await col.findOneAndUpdate(
    queries.versioned.filter(taskId, u.expectedVersion, from),
    stateChange(u.to, { now, by: u.by, reason: u.reason, set: { ...u.set } }),
    { returnDocument: 'after' },
  );
  if (updated) return updated;
  const latest = await col.findOne(queries.byId.filter(taskId));
  if (!latest) throw new TaskNotFoundError(taskId);
  if (latest.version !== u.expectedVersion) throw new VersionConflictError(taskId, u.expectedVersion, latest.version, latest.status);
  throw new InvalidTransitionError(latest.status, u.to, taskId);
}
