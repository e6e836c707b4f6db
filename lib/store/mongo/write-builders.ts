import type { Filter, UpdateFilter } from 'mongodb';
import type { NewTask, Task, TaskHistoryEntry } from '../../tasks/model.js';
import { HELD_UNTIL, MAX_ERRORS_KEPT, MAX_HISTORY_KEPT } from '../../tasks/model.js';
import { JobTaskStatus as S, claimableStatuses, type JobTaskStatus } from '../../tasks/status.js';
import { messageIdempotencyKey, newIdempotencyKey, taskIdFor } from '../ids.js';
import type { ChangeOptions } from './write-declaration.js';

// The pieces the declared writes (./writes.ts) are built from: the update every state change sends, the
// claimable filter, a new task's document. Nothing here is sent on its own.

/**
 * The update every state change sends: new status, version + 1, updatedAt, a bounded history entry,
 * optionally a bounded error entry and more fields. One builder, so no write forgets the version.
 */
export function stateChange(to: JobTaskStatus, o: ChangeOptions): UpdateFilter<Task> {
  const entry: TaskHistoryEntry = {
    from: o.from ?? null,
    to,
    at: o.now,
    ...(o.by ? { by: o.by } : {}),
    ...(o.reason ? { reason: o.reason } : {}),
    ...(o.w ? { w: o.w } : {}),
  };
  const push: Record<string, unknown> = { history: { $each: [entry], $slice: -MAX_HISTORY_KEPT } };
  if (o.error) push.errors = { $each: [o.error], $slice: -MAX_ERRORS_KEPT };
  return {
    $set: { ...o.set, status: to, updatedAt: o.now },
    $inc: { version: 1, ...o.inc },
    $push: push,
  } as UpdateFilter<Task>;
}

/** A write that changes no state (heartbeat, cancel request): still bumps the version. */
export function touch(now: Date, set: Partial<Task>): UpdateFilter<Task> {
  return { $set: { ...set, updatedAt: now }, $inc: { version: 1 } } as UpdateFilter<Task>;
}

/** Claimable now: Queued or Retrying whose time has come, optionally of given types. */
export function claimableNow(now: Date, types?: readonly string[]): Filter<Task> {
  const ofTypes = types ? { type: { $in: [...types] } } : {};
  return { status: { $in: [...claimableStatuses] }, nextAttemptAt: { $lte: now }, ...ofTypes };
}

/** The subscriber flow the insert records in a new task's history (the original .NET design's). */
export const acceptedPath: readonly JobTaskStatus[] = [S.Created, S.Processing, S.Completed, S.Queued];
export const rejectedPath: readonly JobTaskStatus[] = [S.Created, S.Processing, S.Failed];

/**
 * `seq`: the task's place in its ordering key's order; it is stored held (not due) until its turn comes.
 * A refused message keeps its key for the record but takes no place in the order.
 */
export function taskDocument(t: NewTask, now: Date, defaults: { maxRetries: number }, by?: string, seq?: number): Task {
  const idempotencyKey =
    t.idempotencyKey ??
    (t.source?.messageId
      ? messageIdempotencyKey(t.source.provider, t.source.queue, t.source.messageId)
      : newIdempotencyKey());
  const path = t.failedReason ? rejectedPath : acceptedPath;
  return {
    _id: taskIdFor(idempotencyKey),
    type: t.type,
    payload: t.payload ?? null,
    priority: t.priority ?? 0,
    status: path[path.length - 1]!,
    version: 1,
    ...(t.source ? { source: t.source } : {}),
    idempotencyKey,
    attempts: 0,
    maxRetries: t.maxRetries ?? defaults.maxRetries,
    nextAttemptAt: seq !== undefined ? HELD_UNTIL : (t.notBefore ?? now),
    ...(t.orderingKey ? { orderingKey: t.orderingKey } : {}),
    ...(seq !== undefined ? { orderingSeq: seq, held: true, ...(t.notBefore ? { notBefore: t.notBefore } : {}) } : {}),
    owner: null,
    heartbeatAt: null,
    cancelRequested: false,
    ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}),
    ...(t.traceparent ? { traceparent: t.traceparent } : {}),
    errors: [],
    history: path.map((to, i) => ({
      from: i === 0 ? null : path[i - 1]!,
      to,
      at: now,
      ...(by ? { by } : {}),
      ...(to === S.Failed && t.failedReason ? { reason: t.failedReason } : {}),
    })),
    ...(t.failedReason ? { reason: t.failedReason, finishedAt: now } : {}),
    createdAt: now,
    updatedAt: now,
  };
}
