import type { JobTaskStatus } from './status.js';

/** Where a task came from. */
export interface TaskSource {
  /** Provider kind: "mns", "storage-queue", "service-bus", "api", ... */
  provider: string;
  queue: string;
  messageId?: string;
}

export interface TaskOwner {
  workerId: string;
  /** Fencing token: every lease-guarded write must present it. A new claim gets a new one. */
  leaseToken: string;
  acquiredAt: Date;
}

export interface TaskError {
  message: string;
  stack?: string;
  /** Error class / kind, e.g. "HandlerError", "Timeout", "LeaseLost", "UnknownTaskType". */
  kind?: string;
  workerId?: string;
  attempt: number;
  at: Date;
}

export interface TaskHistoryEntry {
  from: JobTaskStatus | null;
  to: JobTaskStatus;
  at: Date;
  by?: string;
  reason?: string;
  /** The write id of the lease write that made this change: how a retried write recognises its own earlier try. */
  w?: string;
}

/** The task document as stored in MongoDB (collection `tasks`). */
export interface Task {
  /** Derived from the idempotency key, so a duplicate insert collides on _id. */
  _id: string;
  type: string;
  payload: unknown;
  /** Higher runs first. */
  priority: number;
  status: JobTaskStatus;
  /** Incremented by every write. */
  version: number;
  source?: TaskSource;
  idempotencyKey: string;
  /** Claims so far (the current attempt's number while owned). */
  attempts: number;
  /** Retries allowed after the first attempt. */
  maxRetries: number;
  /** Claimable from this time (Queued and Retrying). */
  nextAttemptAt: Date;
  owner: TaskOwner | null;
  heartbeatAt: Date | null;
  cancelRequested: boolean;
  /** Handler timeout override in ms, from the message or the handler. */
  timeoutMs?: number;
  result?: unknown;
  progress?: unknown;
  /** Most recent errors, oldest first (bounded). */
  errors: TaskError[];
  /** Recent state changes, oldest first (bounded). */
  history: TaskHistoryEntry[];
  /** Why a task Failed at ingest, or other terminal reason. */
  reason?: string;
  /** W3C trace context of the span that ingested the task, so processing spans can link back to it. */
  traceparent?: string;
  /** Tasks of one key run one at a time, in ingest order (the Service Bus session id, or the message's `orderingKey`). */
  orderingKey?: string;
  /** Place in its key's order, assigned at ingest. */
  orderingSeq?: number;
  /**
   * Waiting for its key's turn: nextAttemptAt is then HELD_UNTIL, so the claim never sees it; the task
   * before it in the key's order, when it finishes, makes it due (lib/store/mongo/ordering.ts).
   */
  held?: boolean;
  /** The producer's notBefore of an ordered task, applied when its turn comes. */
  notBefore?: Date;
  /** Sent to the dead-letter queue after its last attempt (DeadLetter:Queue); lib/dead-letters. */
  deadLetter?: TaskDeadLetterMark | null;
  createdAt: Date;
  updatedAt: Date;
  startedAt?: Date | null;
  finishedAt?: Date | null;
  archivedAt?: Date | null;
  deletedAt?: Date | null;
}

/**
 * The task's trip to the dead-letter queue: claimed by one sender ('sending', its token), then 'sent'.
 * `attempts` is the run it is for, so a task an operator retried and that failed again is sent again.
 */
export interface TaskDeadLetterMark {
  state: 'sending' | 'sent';
  token: string;
  attempts: number;
  queue: string;
  claimedAt: Date;
  sentAt?: Date;
  messageId?: string;
  /** The last replay: when, and the id of the message that carried the task again. */
  replayedAt?: Date;
  replayMessageId?: string;
}

/** What a producer supplies to create a task. */
export interface NewTask {
  type: string;
  payload?: unknown;
  priority?: number;
  /** Same key => same task (duplicates are counted, not errors). Derived from the source message when absent. */
  idempotencyKey?: string;
  maxRetries?: number;
  /** Not claimable before this time. */
  notBefore?: Date;
  timeoutMs?: number;
  source?: TaskSource;
  /**
   * Terminal ingest failure: the task is recorded as Failed with this reason (bad message), so an
   * operator can find it; it is never claimed.
   */
  failedReason?: string;
  /** W3C `traceparent` of the ingest span (set by the store from the active span when absent). */
  traceparent?: string;
  /** Tasks with the same key run one at a time, in ingest order. */
  orderingKey?: string;
}

/** Due time of a held task (waiting for its ordering key's turn): never reached, so no claim takes it. */
export const HELD_UNTIL = new Date('9999-12-31T00:00:00Z');

export const MAX_ERRORS_KEPT = 20;
export const MAX_HISTORY_KEPT = 50;
