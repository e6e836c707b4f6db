import { JobTaskStatus as S, type JobTaskStatus, statusName } from './status.js';

/**
 * Every allowed state change, as data. Each store write declares the states it may leave and enter
 * (lib/store/mongo/writes.ts), which test/store/writes.test.ts checks against this table; the sources are
 * in the write's filter, so the database enforces them too.
 *
 * Flows: the original .NET design's four (subscriber, worker, error handling, cleanup) plus
 * cancellation, timeout, reclaim and graceful release.
 */
export const transitions: Readonly<Record<JobTaskStatus, readonly JobTaskStatus[]>> = {
  [S.Pending]: [S.Created, S.Cancelled],
  // Subscriber flow: Created -> Processing -> Completed/Failed
  [S.Created]: [S.Processing, S.Cancelled],
  [S.Processing]: [S.Completed, S.Failed],
  // Worker flow: Completed -> Queued -> Assigned -> Running -> Succeeded/Error
  [S.Completed]: [S.Queued],
  [S.Queued]: [S.Assigned, S.Cancelled],
  // Assigned: started, released on shutdown (Queued), reclaimed (Retrying/Timeout), refused before start (Error), cancelled.
  [S.Assigned]: [S.Running, S.Queued, S.Retrying, S.Timeout, S.Error, S.Cancelled],
  [S.Running]: [S.Succeeded, S.Error, S.Retrying, S.Cancelled, S.Timeout, S.Queued],
  // Error handling: Error -> Retrying -> Queued (an operator's retry); Retrying is also claimable when due.
  [S.Error]: [S.Retrying, S.Archived],
  [S.Retrying]: [S.Queued, S.Assigned, S.Cancelled],
  [S.Timeout]: [S.Retrying, S.Archived],
  [S.Cancelled]: [S.Retrying, S.Archived],
  // Cleanup: Succeeded/Failed -> Archived -> Deleted
  [S.Succeeded]: [S.Archived],
  [S.Failed]: [S.Retrying, S.Archived],
  [S.Archived]: [S.Deleted],
  [S.Deleted]: [],
};

export function canTransition(from: JobTaskStatus, to: JobTaskStatus): boolean {
  return transitions[from]?.includes(to) ?? false;
}

export class InvalidTransitionError extends Error {
  constructor(
    readonly from: JobTaskStatus,
    readonly to: JobTaskStatus,
    readonly taskId?: string,
  ) {
    super(`task${taskId ? ` ${taskId}` : ''}: ${statusName(from)} -> ${statusName(to)} is not an allowed transition`);
    this.name = 'InvalidTransitionError';
  }
}

export function assertTransition(from: JobTaskStatus, to: JobTaskStatus, taskId?: string): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(from, to, taskId);
}

/** Whether `path` (e.g. the subscriber flow a newly ingested task went through) follows the table. */
export function isValidPath(path: readonly JobTaskStatus[]): boolean {
  for (let i = 1; i < path.length; i++) if (!canTransition(path[i - 1]!, path[i]!)) return false;
  return true;
}
