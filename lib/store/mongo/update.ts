import type { UpdateFilter } from 'mongodb';
import { MAX_ERRORS_KEPT, MAX_HISTORY_KEPT, type Task, type TaskError, type TaskHistoryEntry } from '../../tasks/model.js';
import type { JobTaskStatus } from '../../tasks/status.js';

export interface ChangeOptions {
  now: Date;
  /** The state left, when the write knows it exactly (history only). */
  from?: JobTaskStatus | null;
  by?: string;
  reason?: string;
  set?: Partial<Task>;
  error?: TaskError;
  inc?: Partial<Record<'attempts', number>>;
}

/**
 * The update every state change sends: new status, version + 1, updatedAt, a bounded history entry,
 * optionally a bounded error entry and more fields. One place, so no write forgets the version.
 */
export function stateChange(to: JobTaskStatus, o: ChangeOptions): UpdateFilter<Task> {
  const entry: TaskHistoryEntry = { from: o.from ?? null, to, at: o.now, ...(o.by ? { by: o.by } : {}), ...(o.reason ? { reason: o.reason } : {}) };
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
