import type { Filter, UpdateFilter } from 'mongodb';
import type { Task, TaskError } from '../../tasks/model.js';
import type { JobTaskStatus } from '../../tasks/status.js';

/**
 * The shape of a declared write (./writes.ts), and of the arguments its updates take: what a test needs to
 * check a write without running it.
 * Like a query declaration (./query-declaration.ts), it names the index its filter relies on and gives
 * sample arguments to call the filter with; it also says which states the write may leave and enter.
 */
interface Statement<A extends unknown[]> {
  name: string;
  /** The states it may leave. */
  from: readonly JobTaskStatus[];
  /** The states it may enter; empty when it changes no state (a heartbeat, a cancel request) or removes the task. */
  to: readonly JobTaskStatus[];
  /** When the caller picks the target: the sources the filter allows for it (a subset of `from`). */
  sourcesOf?: (to: JobTaskStatus) => readonly JobTaskStatus[];
  /** An index declared in ./indexes.ts, or "_id". */
  index: string;
  filter: (...args: A) => Filter<Task>;
  sort?: Record<string, 1 | -1>;
  /** Arguments the index-coverage test calls `filter` with. */
  sample: A;
}

export interface UpdateStatement<A extends unknown[], U extends unknown[]> extends Statement<A> {
  kind: 'update';
  update: (...args: U) => UpdateFilter<Task>;
}

export interface DeleteStatement<A extends unknown[]> extends Statement<A> {
  kind: 'delete';
}

/** A new document; its _id (derived from the idempotency key) is what makes a second insert a duplicate. */
export interface InsertStatement<U extends unknown[]> {
  kind: 'insert';
  name: string;
  from: readonly JobTaskStatus[];
  to: readonly JobTaskStatus[];
  index: '_id';
  /** The flows a new document's history records, each ending in one of `to`. */
  paths: readonly (readonly JobTaskStatus[])[];
  document: (...args: U) => Task;
}

export function updateStatement<A extends unknown[], U extends unknown[]>(
  s: Omit<UpdateStatement<A, U>, 'kind'>,
): UpdateStatement<A, U> {
  return { kind: 'update', ...s };
}

export function deleteStatement<A extends unknown[]>(s: Omit<DeleteStatement<A>, 'kind'>): DeleteStatement<A> {
  return { kind: 'delete', ...s };
}

export function insertStatement<U extends unknown[]>(s: Omit<InsertStatement<U>, 'kind'>): InsertStatement<U> {
  return { kind: 'insert', ...s };
}

/** What a state change records besides the new status (stateChange in ./writes.ts). */
export interface ChangeOptions {
  now: Date;
  /** The state left, when the write knows it exactly (history only). */
  from?: JobTaskStatus | null;
  by?: string;
  reason?: string;
  /** The write id of a lease write (LeaseWriteOptions): how a retried write finds its own entry. */
  w?: string;
  set?: Partial<Task>;
  error?: TaskError;
  inc?: Partial<Record<'attempts', number>>;
}

/** How an attempt ended badly (the worker's fail or timeout, or the reclaimer): Retrying after backoff, or terminal. */
export interface AttemptEnd {
  now: Date;
  from: JobTaskStatus;
  to: JobTaskStatus;
  by: string;
  reason: string;
  error: TaskError;
  /** Set when the task goes Retrying. */
  nextAttemptAt?: Date;
  w?: string;
}
