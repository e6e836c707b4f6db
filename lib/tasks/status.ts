/**
 * Task states with the original .NET design's names and numeric values, exactly (they are stored as numbers).
 */
export const JobTaskStatus = {
  // Initial states
  Pending: 0,
  Created: 1,
  // Subscriber states
  Processing: 10,
  Completed: 11,
  Failed: 12,
  // Worker states
  Queued: 20,
  Assigned: 21,
  Running: 22,
  Succeeded: 23,
  Error: 24,
  Retrying: 25,
  Cancelled: 26,
  Timeout: 27,
  // Final states
  Archived: 90,
  Deleted: 91,
} as const;

export type JobTaskStatusName = keyof typeof JobTaskStatus;
export type JobTaskStatus = (typeof JobTaskStatus)[JobTaskStatusName];

export const allStatuses: readonly JobTaskStatus[] = Object.values(JobTaskStatus);

const names = new Map<number, JobTaskStatusName>(
  (Object.entries(JobTaskStatus) as [JobTaskStatusName, JobTaskStatus][]).map(([k, v]) => [v, k]),
);

export function statusName(status: number): JobTaskStatusName | `Unknown(${number})` {
  return names.get(status) ?? `Unknown(${status})`;
}

export function parseStatus(input: string | number): JobTaskStatus | undefined {
  if (typeof input === 'number' || /^\d+$/.test(input)) {
    const n = Number(input);
    return names.has(n) ? (n as JobTaskStatus) : undefined;
  }
  const key = (Object.keys(JobTaskStatus) as JobTaskStatusName[]).find((k) => k.toLowerCase() === input.toLowerCase());
  return key ? JobTaskStatus[key] : undefined;
}

const S = JobTaskStatus;

/** A worker may claim these (Retrying only once its next attempt time has come). */
export const claimableStatuses = [S.Queued, S.Retrying] as const;
/** Owned by a worker under a lease. */
export const leasedStatuses = [S.Assigned, S.Running] as const;
/** Waiting for a worker or for ingest; cancel takes effect at once. */
export const waitingStatuses = [S.Pending, S.Created, S.Queued, S.Retrying] as const;
/** Finished: nothing more happens but retention (and an operator's retry for the failed ones). */
export const finishedStatuses = [S.Succeeded, S.Failed, S.Error, S.Cancelled, S.Timeout] as const;
/** An operator may send these back for another attempt. */
export const retryableByOperatorStatuses = [S.Failed, S.Error, S.Cancelled, S.Timeout] as const;
