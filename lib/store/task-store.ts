import type { JobTaskStatus } from '../tasks/status.js';
import type { NewTask, Task } from '../tasks/model.js';

/** What a worker holds while it owns a task: every lease-guarded write presents it. */
export interface Lease {
  taskId: string;
  leaseToken: string;
  workerId: string;
  /** The attempt this lease is for (task.attempts at claim time). */
  attempt: number;
  /** The task's ordering key: when the task finishes, the next task of the key gets its turn. */
  orderingKey?: string;
}

/** A lease's key: its task id and token (two holders of one task, e.g. an old run and a new one, differ). */
export function leaseKey(lease: Pick<Lease, 'taskId' | 'leaseToken'>): string {
  return `${lease.taskId}/${lease.leaseToken}`;
}

export interface ClaimedTask {
  task: Task;
  lease: Lease;
}

export interface IngestItemResult {
  taskId: string;
  duplicate: boolean;
}

export interface IngestResult {
  inserted: number;
  duplicates: number;
  /** One per input, in input order. */
  items: IngestItemResult[];
}

export interface ClaimOptions {
  /** At most this many tasks; above 1 the store uses a batch claim (constant round trips). */
  limit?: number;
  /**
   * Only these types (unset: any). The worker passes the types it has handlers for whose timeout still
   * fits before its deadline, so a serverless invocation never claims a task it cannot finish.
   */
  types?: readonly string[];
  /** The clock (tests). */
  now?: Date;
}

/**
 * Options of a lease write that changes the task's state (start, complete, fail, timedOut, cancelled,
 * release). The write id marks the history entry the write adds. A caller that tries the same logical
 * write again (its reply was lost, the database was down) passes the same id, so a try that finds its
 * own entry already there is answered owned: true. Unset: the store makes a fresh one.
 */
export interface LeaseWriteOptions {
  writeId?: string;
}

/** Result of a lease-guarded write: whether the caller still owned the task (if not, nothing changed). */
export interface LeaseWriteResult {
  owned: boolean;
}

/** Options of start(). */
export interface StartOptions extends LeaseWriteOptions {
  /**
   * The handler's own retry limit, when it declares one: recorded on the task as its maxRetries, so every
   * later decision (the worker's failure path, the reclaimer's) uses the same effective limit.
   */
  maxRetries?: number;
}

/** Options of release(). */
export interface ReleaseOptions extends LeaseWriteOptions {
  /** Not claimable again before this many ms from now (the released run may still be ending). Default 0. */
  minDelayMs?: number;
}

/**
 * A lease write that ends the lease (release): Queued as asked, or Cancelled when a cancel was requested
 * (a cancel request is never dropped by a lease ending).
 */
export interface LeaseEndResult extends LeaseWriteResult {
  status?: JobTaskStatus;
}

export interface HeartbeatResult extends LeaseWriteResult {
  cancelRequested: boolean;
}

export interface TaskFailure {
  message: string;
  stack?: string;
  kind?: string;
}

export interface FailOptions extends LeaseWriteOptions {
  /** False: the failure is final whatever attempts remain (unknown type, invalid payload). */
  retryable?: boolean;
  /** Overrides the task's maxRetries (a handler's own limit; start() records it on the task already). */
  maxRetries?: number;
  /** The next attempt is not due before this many ms from now (a handler that has not settled may still run). */
  minDelayMs?: number;
}

export interface FailResult extends LeaseWriteResult {
  /** Retrying (another attempt due at nextAttemptAt), or the terminal status (Cancelled when a cancel was requested). */
  status?: JobTaskStatus;
  nextAttemptAt?: Date;
}

export type CancelOutcome = 'cancelled' | 'requested' | 'already-finished' | 'not-found';

export interface CancelResult {
  outcome: CancelOutcome;
  task: Task | null;
}

export interface ReclaimOptions {
  heartbeatTimeoutMs: number;
  /** The database server's time (tests); unset: the store reads the server's clock (never this process's). */
  now?: Date;
  /** At most this many stalled tasks per pass. */
  limit?: number;
  by?: string;
  /** A type's own retry limit (its handler's maxRetries), which wins over the task's, as it does for the worker. */
  maxRetriesOf?: (type: string) => number | undefined;
}

export interface ReclaimResult {
  /** Stalled tasks found. */
  found: number;
  retried: number;
  timedOut: number;
  /** A cancel had been requested: ended Cancelled. */
  cancelled: number;
  /** Another reclaimer, or the owner's heartbeat, got there first. */
  lostRaces: number;
  /** Tasks whose write the database refused (each skipped; the others still reclaimed). */
  failed: number;
  failures: { taskId: string; message: string }[];
  taskIds: string[];
  /** Ordering keys whose head had finished without handing the turn on (its finisher died): handed on now. */
  orderingKeysRepaired?: number;
}

export interface RetentionOptions {
  archiveAfterMs: number;
  deleteAfterMs: number;
  purgeAfterMs: number;
  /** A purged task's idempotency key is still a duplicate for this long (default 30 days). */
  forgetKeysAfterMs?: number;
  now?: Date;
}

export interface RetentionResult {
  archived: number;
  deleted: number;
  purged: number;
}

export interface TaskStats {
  counts: Record<string, number>;
  total: number;
  /** Age of the oldest task that is claimable now, in ms (null when none). */
  oldestClaimableAgeMs: number | null;
  /** Tasks waiting to be claimed (Queued, Retrying), by type. */
  waitingByType?: Record<string, number>;
  at: Date;
}

/** Tasks that finished in one time bucket, by outcome. */
export interface ThroughputBucket {
  /** Start of the bucket. */
  at: Date;
  succeeded: number;
  /** Ended Error, Timeout or Failed. */
  failed: number;
  cancelled: number;
  /** Of the tasks counted above, those that needed more than one attempt. */
  retried: number;
}

export interface TaskThroughput {
  since: Date;
  until: Date;
  bucketMs: number;
  /** Oldest first, one per bucket (empty buckets included). */
  buckets: ThroughputBucket[];
  totals: Omit<ThroughputBucket, 'at'>;
}

export interface VersionedUpdate {
  expectedVersion: number;
  to: JobTaskStatus;
  /** Extra fields to set (never status, version, owner). */
  set?: Partial<Pick<Task, 'nextAttemptAt' | 'priority' | 'cancelRequested' | 'reason' | 'maxRetries'>>;
  by?: string;
  reason?: string;
}

export interface ListTasksFilter {
  status?: readonly JobTaskStatus[];
  type?: string;
  workerId?: string;
  createdFrom?: Date;
  createdTo?: Date;
}

export interface ListTasksPage {
  tasks: Task[];
  /** Pass back to get the next page; null at the end. */
  nextCursor: string | null;
}

/** What a task of an ordered key does to its key when it fails for good (Ordering:OnFailure). */
export type OrderingFailurePolicy = 'block' | 'continue';

/** One ordering key: its head task (Assigned, Running, waiting to be claimed, or failed and blocking). */
export interface OrderingKeyState {
  key: string;
  /** The task whose turn it is (null: the key is idle). */
  activeTaskId: string | null;
  /** Its head failed for good and Ordering:OnFailure is block: nothing more of the key runs until an operator acts. */
  blocked: boolean;
  /** Tasks ingested under the key so far (the last sequence number given). */
  seq: number;
  updatedAt: Date;
}

export type UnblockOutcome = 'unblocked' | 'not-blocked' | 'not-found';

/**
 * A finished task's trip to the dead-letter queue (lib/dead-letters): one sender claims it (a
 * conditional write), sends, then marks it sent; a claim whose sender died goes stale and is taken again.
 */
export interface DeadLetterMarks {
  /** Takes the task's dead letter for the run it read; null when it is sent, held by a live sender, or not Error/Timeout. */
  claim(
    task: Pick<Task, '_id' | 'attempts'>,
    mark: { token: string; queue: string },
    opts: { staleMs: number; now?: Date },
  ): Promise<Task | null>;
  /** The claim's holder records the send; false when its claim was taken over. */
  markSent(taskId: string, token: string, messageId: string, now?: Date): Promise<boolean>;
  /** A replay sent the task's original message again (as `messageId`); false when the task has no sent dead letter. */
  markReplayed(taskId: string, messageId: string, now?: Date): Promise<boolean>;
  /** Tasks whose dead letter was sent, most recently finished first. */
  sent(limit: number): Promise<Task[]>;
  /** Error/Timeout tasks finished since `since` and not sent (oldest claims may still be live: claim() decides). */
  due(since: Date, limit: number): Promise<Task[]>;
}

/**
 * The task store: the one surface processors, ingest, the admin API and the functions use.
 * Every state change is conditional (status and lease token, or version); its loser is detected.
 * A lease write that matched nothing answers owned: true only when the task's history carries its own
 * write id (an earlier try of the same logical write applied), never on the lease token alone.
 * A backend implements this and passes the conformance suite in test/store/conformance.ts.
 */
export interface TaskStore {
  /** Dead-letter bookkeeping of finished tasks (DeadLetter:Queue). */
  readonly deadLetters: DeadLetterMarks;
  ensureIndexes(): Promise<void>;
  /**
   * Idempotent: the same idempotency key (or source message) yields one task, even after that task is purged
   * (for Retention:ForgetKeysAfter); duplicates are counted. One read of kept keys, one bulk write.
   */
  ingest(tasks: readonly NewTask[], opts?: { by?: string }): Promise<IngestResult>;
  get(taskId: string): Promise<Task | null>;
  list(filter: ListTasksFilter, page?: { limit?: number; cursor?: string | null }): Promise<ListTasksPage>;
  /** Whether `cursor` is one list() returned (an API checks a client's cursor before it lists). */
  isValidCursor(cursor: string): boolean;

  /** Atomically claims up to `limit` claimable tasks for `workerId`: highest priority first, then oldest. */
  claim(workerId: string, opts?: ClaimOptions): Promise<ClaimedTask[]>;
  /** Assigned -> Running, recording the handler's retry limit when given. */
  start(lease: Lease, opts?: StartOptions): Promise<LeaseWriteResult>;
  /** Refreshes the heartbeat; says whether the lease still holds and whether cancel was requested. */
  heartbeat(lease: Lease, opts?: { progress?: unknown }): Promise<HeartbeatResult>;
  /** Heartbeats many leases of one worker in a constant number of round trips; answers keyed by leaseKey(). */
  heartbeatMany(leases: readonly Lease[]): Promise<Map<string, HeartbeatResult>>;
  /** Running -> Succeeded with the result. */
  complete(lease: Lease, result?: unknown, opts?: LeaseWriteOptions): Promise<LeaseWriteResult>;
  /**
   * Records the error; Retrying with backoff if attempts remain (and retryable), else Error. With a cancel
   * requested: Cancelled (as are timedOut, release and reclaim).
   */
  fail(lease: Lease, error: TaskFailure, opts?: FailOptions): Promise<FailResult>;
  /** The handler outlived its timeout: Retrying if attempts remain, else Timeout. */
  timedOut(lease: Lease, error: TaskFailure, opts?: FailOptions): Promise<FailResult>;
  /** Acknowledges a cancel request: -> Cancelled. */
  cancelled(lease: Lease, reason?: string, opts?: LeaseWriteOptions): Promise<LeaseWriteResult>;
  /** Gives the task back (Queued) without counting the attempt (graceful shutdown). */
  release(lease: Lease, reason?: string, opts?: ReleaseOptions): Promise<LeaseEndResult>;

  /** A waiting task is Cancelled at once; a running one gets cancelRequested. */
  cancel(taskId: string, opts?: { by?: string; reason?: string }): Promise<CancelResult>;
  /** An operator's retry of a finished, failed task: -> Retrying, due now. */
  retry(taskId: string, opts?: { by?: string; expectedVersion?: number }): Promise<Task>;
  /** A versioned (optimistic) state change; throws VersionConflictError when the task changed. */
  transition(taskId: string, update: VersionedUpdate): Promise<Task>;

  /**
   * Tasks whose heartbeat is older than the timeout (by the database server's clock) lose their lease:
   * Retrying, or Timeout with no attempts left, or Cancelled when a cancel was requested. A task whose
   * write fails is counted and skipped.
   */
  reclaim(opts: ReclaimOptions): Promise<ReclaimResult>;
  applyRetention(opts: RetentionOptions): Promise<RetentionResult>;
  stats(now?: Date): Promise<TaskStats>;
  /** Tasks finished in the last `sinceMs`, per minute (succeeded/failed/cancelled/retried): one indexed aggregation. */
  throughput(sinceMs: number, now?: Date): Promise<TaskThroughput>;

  /** Ordering keys, blocked ones only when asked; by key. */
  orderingKeys(filter?: { blocked?: boolean; limit?: number }): Promise<OrderingKeyState[]>;
  /** A blocked key goes on: its failed head is passed over and the next task of the key gets its turn. */
  unblockKey(key: string, opts?: { by?: string }): Promise<{ outcome: UnblockOutcome; state: OrderingKeyState | null }>;
}
