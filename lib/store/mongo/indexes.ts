import type { IndexDirection } from 'mongodb';

export interface IndexDeclaration {
  name: string;
  key: Record<string, IndexDirection>;
  unique?: boolean;
  /** Only documents that have one of the key's fields (ordered tasks), so unordered ones cost nothing. */
  sparse?: boolean;
  /** A TTL index: documents go once their (date) field is this many seconds old. */
  expireAfterSeconds?: number;
  why: string;
}

/**
 * Every index of the tasks collection. Each read in ./queries.ts and each write in ./writes.ts names the
 * index it relies on, and test/store/index-coverage.test.ts checks that the index's key covers its filter
 * and sort (equality fields first, then the sort in order, then range fields), because the test server
 * ignores indexes and would hide a missing one.
 */
export const taskIndexes: readonly IndexDeclaration[] = [
  {
    name: 'claim_order',
    key: { status: 1, priority: -1, createdAt: 1, nextAttemptAt: 1, type: 1 },
    why: 'claim: claimable statuses, highest priority first, then oldest; due-time and type filters read from the index',
  },
  {
    name: 'due',
    key: { status: 1, nextAttemptAt: 1 },
    why: 'stats: the oldest claimable task',
  },
  {
    name: 'stalled',
    key: { status: 1, heartbeatAt: 1 },
    why: 'reclaim: leased tasks whose heartbeat is older than the timeout',
  },
  {
    name: 'status_updated',
    key: { status: 1, updatedAt: 1 },
    why: 'retention (finished/archived/deleted tasks by age) and counts by status',
  },
  {
    name: 'lease_token',
    key: { 'owner.leaseToken': 1 },
    why: 'batch heartbeat by lease token, and the read-back of a batch claim that raced another worker',
  },
  {
    name: 'created',
    key: { createdAt: -1, _id: -1 },
    why: 'admin listing, newest first, cursor paging',
  },
  {
    name: 'status_created',
    key: { status: 1, createdAt: -1, _id: -1 },
    why: 'admin listing filtered by status',
  },
  {
    name: 'type_created',
    key: { type: 1, createdAt: -1, _id: -1 },
    why: 'admin listing filtered by type',
  },
  {
    name: 'worker_created',
    key: { 'owner.workerId': 1, createdAt: -1, _id: -1 },
    why: 'admin listing filtered by worker',
  },
  {
    name: 'ordering_held',
    key: { orderingKey: 1, held: 1, orderingSeq: 1 },
    sparse: true,
    why: "ordering: a key's next held task, lowest sequence number first",
  },
  {
    name: 'status_finished',
    key: { status: 1, finishedAt: 1 },
    why: 'admin stats: tasks finished since a time, by outcome (throughput per minute)',
  },
  {
    name: 'dead_letter_due',
    key: { status: 1, 'deadLetter.state': 1, finishedAt: 1 },
    why: 'dead letters: Error/Timeout tasks finished recently and not sent to the dead-letter queue yet',
  },
];

/** Every index of the task_keys collection (./collections.ts); it is read by _id only. */
export const taskKeyIndexes: readonly IndexDeclaration[] = [
  {
    name: 'forget_at',
    key: { forgetAt: 1 },
    expireAfterSeconds: 0,
    why: 'TTL: the key of a purged task is forgotten at forgetAt (Retention:ForgetKeysAfter after the purge)',
  },
];
