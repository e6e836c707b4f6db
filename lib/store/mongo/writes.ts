import type { Filter, UpdateFilter } from 'mongodb';
import type { Task } from '../../tasks/model.js';
import { HELD_UNTIL } from '../../tasks/model.js';
import {
  JobTaskStatus as S,
  allStatuses,
  claimableStatuses,
  leasedStatuses,
  retryableByOperatorStatuses,
  waitingStatuses,
  type JobTaskStatus,
} from '../../tasks/status.js';
import { canTransition } from '../../tasks/transitions.js';
import type { Lease, VersionedUpdate } from '../task-store.js';
import { leased, leasedMany, live, versioned, type LeaseKey } from './write-guards.js';
import { acceptedPath, claimableNow, rejectedPath, stateChange, taskDocument, touch } from './write-builders.js';
import { insertStatement as insert } from './write-declaration.js';
import { updateStatement as update, type AttemptEnd } from './write-declaration.js';
import { deadLetterWrites } from './dead-letter-writes.js';
import { retentionWrites } from './retention-writes.js';

export { claimableNow, stateChange } from './write-builders.js';

/** Lease times are the database server's (one clock for every process): see ./server-clock.ts. */
const beatNow = { $currentDate: { heartbeatAt: true } } as const;
const withBeat = (u: UpdateFilter<Task>): UpdateFilter<Task> => ({ ...u, ...beatNow }) as UpdateFilter<Task>;

/** A claim keeps cancelRequested: a flagged task is cancelled by its worker, never run (see cancelledInstead). */
const claim = (workerId: string, leaseToken: string, now: Date) =>
  withBeat(
    stateChange(S.Assigned, {
      now,
      by: workerId,
      inc: { attempts: 1 },
      set: { owner: { workerId, leaseToken, acquiredAt: now } },
    }),
  );

/**
 * A lease write's update uses only the lease's worker id (and the token, in the filter): the set-wise form
 * of a write (startMany, completeMany) applies one update to the tasks of one token and worker.
 */
type LeaseUpdate<A> = (lease: Pick<Lease, 'workerId'>, now: Date, w: string, arg: A) => UpdateFilter<Task>;

/** The handler's own retry limit, when it has one, becomes the task's: every later path (the reclaimer's too) reads it. */
const startUpdate: LeaseUpdate<{ maxRetries?: number } | undefined> = (lease, now, w, arg) =>
  withBeat(
    stateChange(S.Running, {
      now,
      from: S.Assigned,
      by: lease.workerId,
      w,
      set: { startedAt: now, ...(arg?.maxRetries !== undefined ? { maxRetries: arg.maxRetries } : {}) },
    }),
  );

const completeUpdate: LeaseUpdate<unknown> = (lease, now, w, result) =>
  stateChange(S.Succeeded, {
    now,
    from: S.Running,
    by: lease.workerId,
    w,
    set: { result: result === undefined ? null : result, finishedAt: now, heartbeatAt: now },
  });

/** How a lease ended when a cancel was requested: Cancelled, with the error of the attempt if any. */
export interface CancelledInstead {
  now: Date;
  from?: JobTaskStatus;
  by: string;
  reason: string;
  error?: AttemptEnd['error'];
  w?: string;
  /** The reclaimer drops the owner (it died); a worker stays on record. */
  dropOwner?: boolean;
}

/** A worker that ends its own attempt for good stays on record as the owner; a reclaimed one does not (it died). */
const endAttempt = (e: AttemptEnd, owner: 'kept' | 'dropped') =>
  stateChange(e.to, {
    now: e.now,
    from: e.from,
    by: e.by,
    reason: e.reason,
    error: e.error,
    ...(e.w ? { w: e.w } : {}),
    set: e.nextAttemptAt
      ? { owner: null, heartbeatAt: null, nextAttemptAt: e.nextAttemptAt }
      : { ...(owner === 'dropped' ? { owner: null, heartbeatAt: null } : {}), finishedAt: e.now },
  });

/** Operators and tools move a task by a versioned write, never out of a leased state (owner and reclaimer only). */
const unleased = allStatuses.filter((s) => !(leasedStatuses as readonly JobTaskStatus[]).includes(s));
const versionedSources = (to: JobTaskStatus) => unleased.filter((s) => canTransition(s, to));

const unclaimable = allStatuses.filter((s) => !(claimableStatuses as readonly JobTaskStatus[]).includes(s));

const claimableReset = (to: JobTaskStatus) =>
  (claimableStatuses as readonly JobTaskStatus[]).includes(to) ? { cancelRequested: false } : {};

const at = new Date(0);
const aLease: LeaseKey = { taskId: 'a', leaseToken: 't' };

/**
 * Every statement that changes a task, declared once: the states it may leave (its filter's status
 * condition), the states it may enter, the index its filter relies on (./indexes.ts), its filter and
 * its update. Only ./store.ts sends them. test/store/writes.test.ts checks every from -> to pair against
 * the transition table (lib/tasks/transitions.ts); test/store/index-coverage.test.ts checks every filter
 * against its index, as it does every read (./queries.ts).
 */
export const writes = {
  /** One task, one round trip: an atomic findOneAndUpdate in claim order. */
  claimOne: update({
    name: 'claimOne',
    from: claimableStatuses,
    to: [S.Assigned],
    index: 'claim_order',
    filter: claimableNow,
    sort: { priority: -1, createdAt: 1 },
    update: claim,
    sample: [at, ['echo']],
  }),
  /**
   * The batch claim: candidates read in claim order, taken if still claimable and unchanged since read (the
   * version pin lets the store compute what it won instead of reading it back), all under one fresh token.
   */
  claimBatch: update({
    name: 'claimBatch',
    from: claimableStatuses,
    to: [S.Assigned],
    index: '_id',
    // The state first: it drops finished and leased tasks at one comparison on a server that matches in filter
    // order (see leasedMany, ./write-guards.ts); MongoDB's planner uses the _id index whatever the order.
    filter: (read: readonly Pick<Task, '_id' | 'version'>[], now: Date): Filter<Task> => ({
      status: { $in: [...claimableStatuses] },
      _id: { $in: read.map((t) => t._id) },
      $or: read.map((t) => ({ _id: t._id, version: t.version })),
      nextAttemptAt: { $lte: now },
    }),
    update: claim,
    sample: [[{ _id: 'a', version: 1 }], at],
  }),
  start: update({
    name: 'start',
    from: [S.Assigned],
    to: [S.Running],
    index: '_id',
    sample: [aLease],
    filter: (lease: LeaseKey) => leased(lease, [S.Assigned]),
    update: startUpdate,
  }),
  /** start for several tasks of one token and one argument: one updateMany (see ./lease-batch.ts). */
  startMany: update({
    name: 'startMany',
    from: [S.Assigned],
    to: [S.Running],
    index: '_id',
    sample: [['a'], 't'],
    filter: (taskIds: readonly string[], leaseToken: string) => leasedMany(taskIds, leaseToken, [S.Assigned]),
    update: startUpdate,
  }),
  heartbeat: update({
    name: 'heartbeat',
    from: leasedStatuses,
    to: [],
    index: '_id',
    sample: [aLease],
    filter: (lease: LeaseKey) => leased(lease, leasedStatuses),
    update: (now: Date, progress?: unknown) => withBeat(touch(now, progress !== undefined ? { progress } : {})),
  }),
  /** Several leases of one token (a batch claim's) in one updateMany; the same filter reads back which held. */
  heartbeatMany: update({
    name: 'heartbeatMany',
    from: leasedStatuses,
    to: [],
    index: '_id',
    sample: [['a'], 't'],
    filter: (taskIds: readonly string[], leaseToken: string) => leasedMany(taskIds, leaseToken, leasedStatuses),
    update: (now: Date) => withBeat(touch(now, {})),
  }),
  /** With the handler's result, or none (stored as null). */
  complete: update({
    name: 'complete',
    from: [S.Running],
    to: [S.Succeeded],
    index: '_id',
    sample: [aLease],
    filter: (lease: LeaseKey) => leased(lease, [S.Running]),
    update: completeUpdate,
  }),
  /** complete for several tasks of one token, none with a result: one updateMany (see ./lease-batch.ts). */
  completeMany: update({
    name: 'completeMany',
    from: [S.Running],
    to: [S.Succeeded],
    index: '_id',
    sample: [['a'], 't'],
    filter: (taskIds: readonly string[], leaseToken: string) => leasedMany(taskIds, leaseToken, [S.Running]),
    update: completeUpdate,
  }),
  /** The handler failed: Retrying with backoff while attempts remain (and retryable), else Error. */
  fail: update({
    name: 'fail',
    from: leasedStatuses,
    to: [S.Retrying, S.Error],
    index: '_id',
    sample: [aLease, S.Running],
    filter: (lease: LeaseKey, status: JobTaskStatus) => live(lease, [status]),
    update: (e: AttemptEnd) => endAttempt(e, 'kept'),
  }),
  /** The handler outlived its timeout: Retrying while attempts remain, else Timeout. */
  timedOut: update({
    name: 'timedOut',
    from: leasedStatuses,
    to: [S.Retrying, S.Timeout],
    index: '_id',
    sample: [aLease, S.Running],
    filter: (lease: LeaseKey, status: JobTaskStatus) => live(lease, [status]),
    update: (e: AttemptEnd) => endAttempt(e, 'kept'),
  }),
  /** The worker acknowledges a cancel request. */
  cancelled: update({
    name: 'cancelled',
    from: leasedStatuses,
    to: [S.Cancelled],
    index: '_id',
    sample: [aLease],
    filter: (lease: LeaseKey) => leased(lease, leasedStatuses),
    update: (lease: Lease, now: Date, w: string, reason: string) =>
      stateChange(S.Cancelled, { now, by: lease.workerId, reason, w, set: { finishedAt: now } }),
  }),
  /**
   * Back to Queued, the attempt not counted (graceful shutdown, or a timeout that does not fit a deadline),
   * claimable from `due` (no earlier than the released run could have ended).
   */
  release: update({
    name: 'release',
    from: leasedStatuses,
    to: [S.Queued],
    index: '_id',
    sample: [aLease],
    filter: (lease: LeaseKey) => live(lease, leasedStatuses),
    update: (lease: Lease, now: Date, w: string, arg: { reason: string; due: Date }) =>
      stateChange(S.Queued, {
        now,
        by: lease.workerId,
        reason: arg.reason,
        w,
        inc: { attempts: -1 },
        set: { owner: null, heartbeatAt: null, startedAt: null, nextAttemptAt: arg.due },
      }),
  }),
  /** A lease-ending write (fail, timeout, release, reclaim) found cancel requested: the task ends Cancelled instead. */
  cancelledInstead: update({
    name: 'cancelledInstead',
    from: leasedStatuses,
    to: [S.Cancelled],
    index: '_id',
    sample: [aLease, at],
    filter: (lease: LeaseKey, staleBefore?: Date) => ({
      ...leased(lease, leasedStatuses),
      cancelRequested: true,
      ...(staleBefore ? { heartbeatAt: { $lt: staleBefore } } : {}),
    }),
    update: (e: CancelledInstead) =>
      stateChange(S.Cancelled, {
        now: e.now,
        from: e.from ?? null,
        by: e.by,
        reason: e.reason,
        ...(e.error ? { error: e.error } : {}),
        ...(e.w ? { w: e.w } : {}),
        set: { finishedAt: e.now, ...(e.dropOwner ? { owner: null, heartbeatAt: null } : {}) },
      }),
  }),
  /** An operator cancels a task no worker holds: Cancelled at once. */
  cancelWaiting: update({
    name: 'cancelWaiting',
    from: waitingStatuses,
    to: [S.Cancelled],
    index: '_id',
    sample: ['a', 1, S.Queued],
    filter: (taskId: string, version: number, status: JobTaskStatus) => versioned(taskId, version, [status]),
    update: (from: JobTaskStatus, now: Date, by: string | undefined, reason: string) =>
      stateChange(S.Cancelled, { now, from, by, reason, set: { finishedAt: now, cancelRequested: true } }),
  }),
  /** An operator cancels a leased task: the flag its owner's heartbeat reads. */
  requestCancel: update({
    name: 'requestCancel',
    from: leasedStatuses,
    to: [],
    index: '_id',
    sample: ['a', 1, S.Running],
    filter: (taskId: string, version: number, status: JobTaskStatus) => versioned(taskId, version, [status]),
    update: (now: Date) => touch(now, { cancelRequested: true }),
  }),
  /** An operator's retry of a finished, failed task: Retrying, due now, one more attempt allowed. */
  operatorRetry: update({
    name: 'operatorRetry',
    from: retryableByOperatorStatuses,
    to: [S.Retrying],
    index: '_id',
    sample: ['a', 1, S.Error],
    filter: (taskId: string, version: number, status: JobTaskStatus) => versioned(taskId, version, [status]),
    /** `heldAs`: a task of an ordering key that is not the key's head waits for its turn again, as this sequence number. */
    update: (task: Pick<Task, 'status' | 'maxRetries' | 'attempts'>, now: Date, by?: string, heldAs?: number) =>
      stateChange(S.Retrying, {
        now,
        from: task.status,
        by,
        reason: 'retried by operator',
        set: {
          ...(heldAs !== undefined ? { held: true, orderingSeq: heldAs } : {}),
          nextAttemptAt: heldAs !== undefined ? HELD_UNTIL : now,
          owner: null,
          heartbeatAt: null,
          cancelRequested: false,
          finishedAt: null,
          // A new run: if it fails for good too, it is dead-lettered again.
          deadLetter: null,
          maxRetries: Math.max(task.maxRetries, task.attempts),
        },
      }),
  }),
  /** A versioned change to any state the table allows from the task's (unleased) state. */
  transition: update({
    name: 'transition',
    from: unleased,
    to: allStatuses,
    sourcesOf: versionedSources,
    index: '_id',
    sample: ['a', 1, S.Cancelled],
    filter: (taskId: string, version: number, to: JobTaskStatus) => versioned(taskId, version, versionedSources(to)),
    // A task sent back to a claimable state starts with no cancel request unless the caller sets one.
    update: (u: VersionedUpdate, now: Date) =>
      stateChange(u.to, { now, by: u.by, reason: u.reason, set: { ...claimableReset(u.to), ...u.set } }),
  }),
  /** The reclaimer takes a stalled lease: still held by the token it saw, heartbeat still stale. */
  reclaim: update({
    name: 'reclaim',
    from: leasedStatuses,
    to: [S.Retrying, S.Timeout],
    index: '_id',
    sample: ['a', 't', at],
    filter: (taskId: string, leaseToken: string, cutoff: Date) => ({
      ...live({ taskId, leaseToken }, leasedStatuses),
      heartbeatAt: { $lt: cutoff },
    }),
    update: (e: AttemptEnd) => endAttempt(e, 'dropped'),
  }),
  /** Its ordering key's turn came: the held task becomes due (its notBefore, if later). */
  promote: update({
    name: 'promote',
    from: claimableStatuses,
    to: [],
    index: '_id',
    sample: ['a'],
    filter: (taskId: string) => ({ _id: taskId, held: true, status: { $in: [...claimableStatuses] } }),
    update: (due: Date, now: Date) => touch(now, { held: false, nextAttemptAt: due }),
  }),
  /** A held task that finished while waiting (cancelled) leaves its key's queue, so the scan for the next one skips it. */
  dropHold: update({
    name: 'dropHold',
    from: unclaimable,
    to: [],
    index: '_id',
    sample: ['a'],
    filter: (taskId: string) => ({ _id: taskId, held: true, status: { $in: [...unclaimable] } }),
    update: (now: Date) => touch(now, { held: false }),
  }),
  /** A new task, Queued (or Failed with its reason when the message was refused); the _id index makes it idempotent. */
  ingest: insert({
    name: 'ingest',
    from: [],
    to: [S.Queued, S.Failed],
    index: '_id',
    paths: [acceptedPath, rejectedPath],
    document: taskDocument,
  }),
  ...deadLetterWrites,
  ...retentionWrites,
} as const;

/** A new task's document, as the ingest statement inserts it (benchmarks build documents with it too). */
export const toTaskDocument = taskDocument;
