import { MongoBulkWriteError, type WriteError } from 'mongodb';
import type { Task, TaskHistoryEntry } from '../../tasks/model.js';
import { JobTaskStatus as S } from '../../tasks/status.js';
import { WriteRefusedError } from '../errors.js';
import type { ClaimedTask, FailResult, LeaseWriteResult } from '../task-store.js';
import type { Settled } from './turn-batch.js';

// What the store's writes did, read from their replies and from the task: which inserts were duplicates,
// which caller of a shared bulk write owned its task, whether an earlier try of a lease write applied.
// No statement is sent here; ./store.ts sends them all.

export const toClaimed = (task: Task): ClaimedTask => ({
  task,
  lease: {
    taskId: task._id,
    leaseToken: task.owner!.leaseToken,
    workerId: task.owner!.workerId,
    attempt: task.attempts,
    ...(task.orderingKey ? { orderingKey: task.orderingKey } : {}),
  },
});

/** The statements of a bulk write the server refused, each with its index (the driver gives one or a list). */
function writeErrorsOf(e: MongoBulkWriteError): WriteError[] {
  const raw: unknown = e.writeErrors;
  return (Array.isArray(raw) ? raw : raw ? [raw] : []) as WriteError[];
}

/** The inputs an unordered insert found already stored (E11000 on the _id). Any other failure is thrown as is. */
export function duplicatesOf(e: unknown): number[] {
  if (!(e instanceof MongoBulkWriteError)) throw e;
  const errors = writeErrorsOf(e);
  // Without write errors the bulk failed as a whole (the driver wraps e.g. "Topology is closed"): nothing was stored.
  if (errors.length === 0 || errors.some((w) => w.code !== 11000)) throw e;
  return errors.map((w) => w.index);
}

/** A projection returning only the history entry write `w` added (`history` absent when none), and what follows it. */
export const writeEntry = (w: string) => ({
  status: 1,
  updatedAt: 1,
  nextAttemptAt: 1,
  history: { $elemMatch: { w } },
});

/** The entry a read with `writeEntry(w)` found: the write applied. */
export const entryWritten = (doc: Pick<Task, 'history'>): TaskHistoryEntry | undefined =>
  (doc.history as TaskHistoryEntry[] | undefined)?.[0];

type Written = Pick<Task, 'history' | 'status' | 'updatedAt' | 'nextAttemptAt'>;

/** An earlier try of a fail/timeout applied: the status it wrote, and the retry's due time if nothing changed since. */
export function failApplied(doc: Written): FailResult | undefined {
  const entry = entryWritten(doc);
  if (!entry) return undefined;
  const untouched = doc.updatedAt.getTime() === entry.at.getTime();
  const unchanged = entry.to === S.Retrying && doc.status === S.Retrying && untouched;
  return { owned: true, status: entry.to, ...(unchanged ? { nextAttemptAt: doc.nextAttemptAt } : {}) };
}

/** One caller of a shared bulk write: its task and its write id (`also`: ids an earlier try was sent under). */
export interface SharedWrite {
  lease: { taskId: string };
  w: string;
  also?: readonly string[];
}

/** Whether one of the write ids `ws` is on the task's history: that write applied. */
export function writtenBy(task: Pick<Task, 'history'> | undefined, ws: readonly string[]): boolean {
  const history: unknown = task?.history;
  return Array.isArray(history) && (history as TaskHistoryEntry[]).some((h) => h.w !== undefined && ws.includes(h.w));
}

/**
 * Each caller's answer after a shared bulk write (one statement per caller, in order) that did not match
 * every statement or threw. `tasks` is the callers' tasks read back after it (the write ids in their
 * history). A statement the server refused fails its own caller only. A caller whose write id is on its
 * task owns it. Otherwise it does not, unless the error may have stopped the command short (no refusal
 * named): then that caller gets the error and tries again with the same write id.
 */
export function sharedAnswers(
  items: readonly SharedWrite[],
  tasks: readonly Pick<Task, '_id' | 'history'>[],
  failure?: unknown,
): Settled<LeaseWriteResult>[] {
  const refused = failure instanceof MongoBulkWriteError ? writeErrorsOf(failure) : [];
  const refusedAt = new Map(refused.map((we) => [we.index, we]));
  const byId = new Map(tasks.map((t) => [t._id, t]));
  const decided = failure === undefined || refused.length > 0;
  return items.map((item, i): Settled<LeaseWriteResult> => {
    const own = refusedAt.get(i);
    if (own) return { ok: false, error: new WriteRefusedError(item.lease.taskId, own.code, own.errmsg) };
    const owned = writtenBy(byId.get(item.lease.taskId), [item.w, ...(item.also ?? [])]);
    return owned || decided ? { ok: true, value: { owned } } : { ok: false, error: failure };
  });
}
