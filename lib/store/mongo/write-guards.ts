/**
 * The guards the declared writes (./writes.ts) put in their filters: a lease (one task, or several of one
 * token), a version the caller read, and no cancel requested. Each also names the states the write may leave.
 * The order of each filter's keys is deliberate (see leasedMany).
 */
import type { Filter } from 'mongodb';
import type { Task } from '../../tasks/model.js';
import type { JobTaskStatus } from '../../tasks/status.js';
import type { Lease } from '../task-store.js';

export type LeaseKey = Pick<Lease, 'taskId' | 'leaseToken'>;

/** A lease-guarded write: the task, the caller's token, and the states the write may leave. */
export const leased = (lease: LeaseKey, from: readonly JobTaskStatus[]): Filter<Task> => ({
  _id: lease.taskId,
  'owner.leaseToken': lease.leaseToken,
  status: { $in: [...from] },
});

/**
 * Several tasks held under one token (a batch claim's), the same states left by each. The token comes first:
 * the order of a filter's conditions means nothing to MongoDB's planner (it uses the _id index either way), but
 * a server that matches documents one by one, in the filter's order (mongo-java-server, a collection scan),
 * drops almost every document at one string comparison instead of a 16-way `$in` (a third of the cost).
 */
export const leasedMany = (
  taskIds: readonly string[],
  leaseToken: string,
  from: readonly JobTaskStatus[],
): Filter<Task> => ({
  'owner.leaseToken': leaseToken,
  _id: { $in: [...taskIds] },
  status: { $in: [...from] },
});

/** An optimistic write: the version the caller read, and the states the write may leave. */
export const versioned = (taskId: string, version: number, from: readonly JobTaskStatus[]): Filter<Task> => ({
  _id: taskId,
  version,
  status: { $in: [...from] },
});

/**
 * A lease-ending write (fail, timeout, release, reclaim) applies only while no cancel is requested; when one
 * is, cancelledInstead ends the task Cancelled. The database decides, so a request that lands between the
 * caller's read and its write is never dropped.
 */
export const live = (lease: LeaseKey, from: readonly JobTaskStatus[]): Filter<Task> => ({
  ...leased(lease, from),
  cancelRequested: { $ne: true },
});
