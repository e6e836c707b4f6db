import type { Filter } from 'mongodb';
import { queryDeclarer } from './query-declaration.js';
import { claimableNow } from './writes.js';
import { deadLetterQueries } from './dead-letter-writes.js';
import type { Task } from '../../tasks/model.js';
import {
  JobTaskStatus as S,
  claimableStatuses,
  finishedStatuses,
  leasedStatuses,
  type JobTaskStatus,
} from '../../tasks/status.js';

/**
 * Every read the store sends, with the sort it uses and the index it relies on (./indexes.ts); the
 * writes are in ./writes.ts. test/store/index-coverage.test.ts checks each against its index.
 */
const declare = queryDeclarer<Task>();
const at = new Date(0);

export const queries = {
  /** The batch claim's candidates, in claim order (the claim itself is writes.claimBatch). */
  claimable: declare({
    name: 'claimable',
    index: 'claim_order',
    filter: claimableNow,
    sort: { priority: -1, createdAt: 1 },
    sample: [at, ['echo']],
  }),
  /** What one claim token won. */
  byLeaseToken: declare({
    name: 'byLeaseToken',
    index: 'lease_token',
    filter: (leaseToken: string) => ({ 'owner.leaseToken': leaseToken }),
    sample: ['t'],
  }),
  byId: declare({
    name: 'byId',
    index: '_id',
    filter: (taskId: string) => ({ _id: taskId }),
    sample: ['a'],
  }),
  byIds: declare({
    name: 'byIds',
    index: '_id',
    filter: (taskIds: readonly string[]) => ({ _id: { $in: [...taskIds] } }),
    sample: [['a']],
  }),
  stalled: declare({
    name: 'stalled',
    index: 'stalled',
    filter: (cutoff: Date) => ({ status: { $in: [...leasedStatuses] }, heartbeatAt: { $lt: cutoff } }),
    sample: [at],
  }),
  /** Deleted tasks due for purge: their ids and keys (the keys outlive them in task_keys). */
  purgeDue: declare({
    name: 'purgeDue',
    index: 'status_updated',
    filter: (cutoff: Date) => ({ status: S.Deleted, updatedAt: { $lt: cutoff } }),
    sample: [at],
  }),
  countByStatus: declare({
    name: 'countByStatus',
    index: 'status_updated',
    filter: (status: JobTaskStatus) => ({ status }),
    sample: [S.Queued],
  }),
  /** Tasks waiting to be claimed (now or later), grouped by type in the database: is any type left without a worker? */
  waiting: declare({
    name: 'waiting',
    index: 'due',
    filter: () => ({ status: { $in: [...claimableStatuses] } }),
    sample: [],
  }),
  oldestClaimable: declare({
    name: 'oldestClaimable',
    index: 'due',
    filter: (now: Date) => ({ status: { $in: [...claimableStatuses] }, nextAttemptAt: { $lte: now } }),
    sort: { nextAttemptAt: 1 },
    sample: [at],
  }),
  listAll: declare({
    name: 'listAll',
    index: 'created',
    filter: (after?: { createdAt: Date; id: string }, from?: Date, to?: Date) => ({
      ...pageAfter(after),
      ...createdRange(from, to),
    }),
    sort: { createdAt: -1, _id: -1 },
    sample: [{ createdAt: at, id: 'a' }, at, at],
  }),
  listByStatus: declare({
    name: 'listByStatus',
    index: 'status_created',
    filter: (status: readonly JobTaskStatus[], after?: { createdAt: Date; id: string }, from?: Date, to?: Date) => ({
      status: { $in: [...status] },
      ...pageAfter(after),
      ...createdRange(from, to),
    }),
    sort: { createdAt: -1, _id: -1 },
    sample: [[S.Queued], { createdAt: at, id: 'a' }, at, at],
  }),
  listByType: declare({
    name: 'listByType',
    index: 'type_created',
    filter: (type: string, after?: { createdAt: Date; id: string }, from?: Date, to?: Date) => ({
      type,
      ...pageAfter(after),
      ...createdRange(from, to),
    }),
    sort: { createdAt: -1, _id: -1 },
    sample: ['echo', { createdAt: at, id: 'a' }, at, at],
  }),
  listByWorker: declare({
    name: 'listByWorker',
    index: 'worker_created',
    filter: (workerId: string, after?: { createdAt: Date; id: string }, from?: Date, to?: Date) => ({
      'owner.workerId': workerId,
      ...pageAfter(after),
      ...createdRange(from, to),
    }),
    sort: { createdAt: -1, _id: -1 },
    sample: ['w', { createdAt: at, id: 'a' }, at, at],
  }),
  /** The next task of an ordering key waiting for its turn. */
  nextHeld: declare({
    name: 'nextHeld',
    index: 'ordering_held',
    filter: (key: string) => ({ orderingKey: key, held: true }),
    sort: { orderingSeq: 1 },
    sample: ['k'],
  }),
  /** Tasks that reached a finished status at or after `since` (throughput, failure and retry rates). */
  finishedSince: declare({
    name: 'finishedSince',
    index: 'status_finished',
    filter: (since: Date) => ({ status: { $in: [...finishedStatuses] }, finishedAt: { $gte: since } }),
    sample: [at],
  }),
  ...deadLetterQueries,
} as const;

/** Keyset paging on (createdAt desc, _id desc). */
function pageAfter(after?: { createdAt: Date; id: string }): Filter<Task> {
  if (!after) return {};
  return { $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }] };
}

function createdRange(from?: Date, to?: Date): Filter<Task> {
  if (!from && !to) return {};
  return { createdAt: { ...(from ? { $gte: from } : {}), ...(to ? { $lt: to } : {}) } } as Filter<Task>;
}
