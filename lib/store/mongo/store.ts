import type { Collection, Db } from 'mongodb';
import type { NewTask, Task } from '../../tasks/model.js';
import { JobTaskStatus as S, type JobTaskStatus } from '../../tasks/status.js';
import { InvalidTransitionError } from '../../tasks/transitions.js';
import { StoreInstrumentation } from '../instrumentation.js';
import { currentTraceparent } from '../../telemetry/tracing.js';
import type { BackoffOptions } from '../backoff.js';
import { TaskNotFoundError, TaskStateError, VersionConflictError } from '../errors.js';
import { newLeaseToken, newWriteId } from '../ids.js';
import { boundProgress, boundText, storedLimits } from '../limits.js';
import * as api from '../task-store.js';
import { taskKeysCollection, tasksCollection, type TaskKey } from './collections.js';
import { taskIndexes, taskKeyIndexes } from './indexes.js';
import { endAttempt, releaseLease, reclaimStalled, type LeaseEndContext } from './lease-ends.js';
import { queries } from './queries.js';
import { decodeCursor, listTasks, taskStats, taskThroughput } from './reports.js';
import { LeaseBatch, type LeaseStatement } from './lease-batch.js';
import { imageAfter } from './post-image.js';
import { ClaimReadAhead, typesKey, type ClaimReadAheadOptions } from './claim-read-ahead.js';
import { ServerClock } from './server-clock.js';
import { keptKeys, purgeKeepingKeys } from './task-keys.js';
import { duplicatesOf, entryWritten, toClaimed, writeEntry } from './write-outcomes.js';
import { KeyOrder } from './ordering.js';
import { writes } from './writes.js';
import { MongoDeadLetterMarks } from './dead-letter-marks.js';

export interface MongoTaskStoreOptions {
  /** Default retries for tasks that do not say (Worker:MaxRetries). */
  maxRetries?: number;
  /** Backoff between attempts (Worker:RetryBaseDelay, Worker:RetryMaxDelay). */
  backoff?: BackoffOptions;
  /** Whether a task of an ordering key that fails for good blocks its key (Ordering:OnFailure; default continue). */
  orderingOnFailure?: api.OrderingFailurePolicy;
  /** How far batch claims read ahead, and for how long what they read stays usable (./claim-read-ahead.ts). */
  claimReadAhead?: ClaimReadAheadOptions;
}

type Lease = api.Lease;

/** Rounds at most of a batch claim whose candidates other workers take, and of a cancel whose write loses races. */
const [MAX_CLAIM_ROUNDS, MAX_CONFLICT_RETRIES] = [3, 5];
const isIn = (states: readonly JobTaskStatus[], s: JobTaskStatus) => states.includes(s);
const after = { returnDocument: 'after' } as const;
/** Retention:ForgetKeysAfter's default. */
const DEFAULT_FORGET_KEYS_AFTER_MS = 30 * 86_400_000;

/**
 * The MongoDB task store: the logic of every operation (read, decide, write). Every statement that changes a task
 * is declared in ./writes.ts and every read in ./queries.ts; this class is their only caller. Read-only reports
 * (list, stats, throughput) are in ./reports.ts; dead-letter marks in ./dead-letter-marks.ts.
 */
export class MongoTaskStore implements api.TaskStore {
  readonly tasks: Collection<Task>;
  /** Idempotency keys of purged tasks, kept for Retention:ForgetKeysAfter. */
  readonly keys: Collection<TaskKey>;
  readonly deadLetters: MongoDeadLetterMarks;
  private readonly maxRetries: number;
  private readonly backoff: BackoffOptions;
  /** The database server's clock: lease times and due times are the server's, whatever this process's clock says. */
  readonly clock: ServerClock;
  private readonly ends: LeaseEndContext;
  /** Metrics for every state change this store makes (lib/telemetry); a no-op until telemetry is set up. */
  private readonly telemetry = new StoreInstrumentation();
  /** start() and result-less complete() calls of one event-loop turn, written together (./lease-batch.ts). */
  private readonly starts: LeaseBatch<{ maxRetries?: number } | undefined>;
  private readonly completions: LeaseBatch<unknown>;
  /** Ordered execution per key: every write that ends a task of a key tells it (./ordering.ts). */
  private readonly order: KeyOrder;
  /** Claim candidates read beyond one batch, for the next claims (./claim-read-ahead.ts). */
  private readonly readAhead: ClaimReadAhead;

  constructor(db: Db, options: MongoTaskStoreOptions = {}) {
    this.tasks = tasksCollection(db);
    this.keys = taskKeysCollection(db);
    this.deadLetters = new MongoDeadLetterMarks(this.tasks);
    this.maxRetries = options.maxRetries ?? 3;
    this.backoff = options.backoff ?? { baseMs: 5_000, capMs: 3_600_000 };
    this.clock = new ServerClock(db);
    this.ends = { tasks: this.tasks, backoff: this.backoff, clock: this.clock };
    this.starts = new LeaseBatch(this.tasks, this.clock, writes.start, writes.startMany);
    this.completions = new LeaseBatch(this.tasks, this.clock, writes.complete, writes.completeMany);
    this.order = new KeyOrder(db, this.tasks, options.orderingOnFailure ?? 'continue', this.clock);
    this.readAhead = new ClaimReadAhead(options.claimReadAhead);
  }

  async ensureIndexes(): Promise<void> {
    const specs = (list: typeof taskIndexes) =>
      list.map((i) => ({
        key: i.key,
        name: i.name,
        ...(i.unique ? { unique: true } : {}),
        ...(i.sparse ? { sparse: true } : {}),
        ...(i.expireAfterSeconds !== undefined ? { expireAfterSeconds: i.expireAfterSeconds } : {}),
      }));
    await this.tasks.createIndexes(specs(taskIndexes));
    await this.keys.createIndexes(specs(taskKeyIndexes));
    await this.order.ensureIndexes();
  }

  /**
   * One unordered bulk insert. The _id derives from the idempotency key, so a redelivered or concurrently
   * ingested message collides on _id (E11000) and is counted as a duplicate; other rows still go in.
   */
  async ingest(tasks: readonly NewTask[], opts: { by?: string } = {}): Promise<api.IngestResult> {
    if (tasks.length === 0) return { inserted: 0, duplicates: 0, items: [] };
    // Ingest inside a span stores that span's context, so the processing span can link back to it.
    const traceparent = currentTraceparent();
    const input = traceparent ? tasks.map((t) => (t.traceparent ? t : { ...t, traceparent })) : tasks;
    const now = this.clock.now();
    const seqs = await this.order.reserve(input);
    const docs = input.map((t, i) => writes.ingest.document(t, now, { maxRetries: this.maxRetries }, opts.by, seqs[i]));
    // Keys of purged tasks are still kept (task_keys): those inputs are duplicates without an insert.
    const kept = await keptKeys(this.keys, [...new Set(docs.map((d) => d._id))]);
    const fresh = docs.flatMap((d, i) => (kept.has(d._id) ? [] : [i]));
    const duplicate = new Set(docs.flatMap((d, i) => (kept.has(d._id) ? [i] : [])));
    // Inputs already stored are duplicates (duplicatesOf rethrows any other failure).
    if (fresh.length > 0) {
      const refused = await this.tasks
        .insertMany(
          fresh.map((i) => docs[i]!),
          { ordered: false },
        )
        .then(() => [], duplicatesOf);
      for (const j of refused) duplicate.add(fresh[j]!);
    }
    await this.order.admitted(docs.flatMap((d) => (d.held ? [d.orderingKey!] : [])));
    this.readAhead.added(docs);
    const items = docs.map((d, i) => ({ taskId: d._id, duplicate: duplicate.has(i) }));
    const result = { inserted: docs.length - duplicate.size, duplicates: duplicate.size, items };
    this.telemetry.ingested(input, result);
    return result;
  }

  get(taskId: string): Promise<Task | null> {
    return this.tasks.findOne(queries.byId.filter(taskId));
  }

  list(filter: api.ListTasksFilter, page?: { limit?: number; cursor?: string | null }): Promise<api.ListTasksPage> {
    return listTasks(this.tasks, filter, page);
  }

  isValidCursor(cursor: string): boolean {
    return decodeCursor(cursor) !== undefined;
  }

  async claim(workerId: string, opts: api.ClaimOptions = {}): Promise<api.ClaimedTask[]> {
    const limit = opts.limit ?? 1;
    if (opts.types && opts.types.length === 0) return [];
    const began = performance.now();
    const claimed = limit <= 1 ? await this.claimOne(workerId, opts) : await this.claimBatch(workerId, opts, limit);
    this.telemetry.claimed(claimed, performance.now() - began, limit > 1);
    return claimed;
  }

  /** One task, one round trip: the original .NET design's atomic FindAndModify. */
  private async claimOne(workerId: string, opts: api.ClaimOptions): Promise<api.ClaimedTask[]> {
    const now = opts.now ?? (await this.clock.sync());
    const { filter, update, sort } = writes.claimOne;
    const options = { sort, returnDocument: 'after' } as const;
    const task = await this.tasks.findOneAndUpdate(
      filter(now, opts.types),
      update(workerId, newLeaseToken(), now),
      options,
    );
    return task ? [toClaimed(task)] : [];
  }

  /**
   * Up to `limit` tasks, two round trips a round: candidates in claim order, one conditional updateMany under
   * a fresh token (atomic per task: no task goes to two workers), pinned to the version read. When it took
   * every candidate, what it won is the candidates as read with the claim applied (./post-image.ts); when
   * other workers took some, a third round trip reads what the token won, and another round (at most
   * MAX_CLAIM_ROUNDS) tries fresh candidates. While claims keep finding full batches, one read serves several
   * of them (./claim-read-ahead.ts): such a claim is one round trip.
   */
  private async claimBatch(workerId: string, opts: api.ClaimOptions, limit: number): Promise<api.ClaimedTask[]> {
    const won: Task[] = [];
    const key = typesKey(opts.types);
    for (let round = 0; round < MAX_CLAIM_ROUNDS && won.length < limit; round++) {
      const now = opts.now ?? (await this.clock.sync());
      const want = limit - won.length;
      // A caller's own clock (tests, tools) asks what is claimable at that time: only a fresh read says.
      let candidates = opts.now ? [] : this.readAhead.take(key, want, performance.now());
      if (candidates.length === 0) {
        const asked = opts.now ? want : this.readAhead.readLimit(key, want);
        const read = await this.tasks
          .find(queries.claimable.filter(now, opts.types))
          .sort(queries.claimable.sort!)
          .limit(asked)
          .toArray();
        candidates = opts.now ? read : this.readAhead.keep(key, read, want, asked, performance.now());
      }
      if (candidates.length === 0) break;
      const leaseToken = newLeaseToken();
      const update = writes.claimBatch.update(workerId, leaseToken, now);
      const res = await this.tasks.updateMany(writes.claimBatch.filter(candidates, now), update);
      if (res.modifiedCount < candidates.length) this.readAhead.contested(key);
      if (res.modifiedCount === 0) continue;
      const images = res.modifiedCount === candidates.length ? candidates.map((c) => imageAfter(c, update, now)) : [];
      if (images.length > 0 && images.every((t) => t !== undefined)) won.push(...images);
      else won.push(...(await this.tasks.find(queries.byLeaseToken.filter(leaseToken)).toArray()));
      // Everything we saw was ours: nobody raced us, so there is nothing more to gain from another round.
      if (res.modifiedCount === candidates.length) break;
    }
    won.sort((a, b) => b.priority - a.priority || a.createdAt.getTime() - b.createdAt.getTime());
    return won.map(toClaimed);
  }

  async start(lease: Lease, opts: api.StartOptions = {}): Promise<api.LeaseWriteResult> {
    const arg = opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {};
    const result = await this.starts.add({ lease, w: opts.writeId ?? newWriteId(), arg });
    this.telemetry.started(lease, result.owned);
    return result;
  }

  async heartbeat(lease: Lease, opts: { progress?: unknown } = {}): Promise<api.HeartbeatResult> {
    const progress = opts.progress === undefined ? undefined : boundProgress(opts.progress);
    const update = writes.heartbeat.update(this.clock.now(), progress);
    const options = { returnDocument: 'after', projection: { cancelRequested: 1 } } as const;
    const doc = await this.tasks.findOneAndUpdate(writes.heartbeat.filter(lease), update, options);
    return { owned: doc !== null, cancelRequested: doc?.cancelRequested === true };
  }

  /** One updateMany and one read per lease token, whatever the number of tasks. Answers keyed by api.leaseKey. */
  async heartbeatMany(leases: readonly Lease[]): Promise<Map<string, api.HeartbeatResult>> {
    const now = this.clock.now();
    const byToken = new Map<string, string[]>();
    for (const l of leases) byToken.set(l.leaseToken, [...(byToken.get(l.leaseToken) ?? []), l.taskId]);
    const out = new Map<string, api.HeartbeatResult>();
    for (const l of leases) out.set(api.leaseKey(l), { owned: false, cancelRequested: false });
    await Promise.all(
      [...byToken].map(async ([token, ids]) => {
        const filter = writes.heartbeatMany.filter(ids, token);
        await this.tasks.updateMany(filter, writes.heartbeatMany.update(now));
        const owned = await this.tasks.find(filter, { projection: { _id: 1, cancelRequested: 1 } }).toArray();
        for (const d of owned)
          out.set(api.leaseKey({ taskId: d._id, leaseToken: token }), {
            owned: true,
            cancelRequested: d.cancelRequested === true,
          });
      }),
    );
    return out;
  }

  async complete(lease: Lease, result?: unknown, opts: api.LeaseWriteOptions = {}): Promise<api.LeaseWriteResult> {
    // Only result-less completions share a write: a result the driver or server refuses must fail its own task alone.
    const res =
      result === undefined || result === null
        ? await this.completions.add({ lease, w: opts.writeId ?? newWriteId(), arg: null })
        : await this.leaseWrite(lease, opts, writes.complete, result);
    if (res.owned) await this.order.finished(lease.orderingKey, lease.taskId, S.Succeeded);
    this.telemetry.succeeded(lease, res.owned);
    return res;
  }

  async fail(lease: Lease, error: api.TaskFailure, opts: api.FailOptions = {}): Promise<api.FailResult> {
    const res = await endAttempt(this.ends, lease, error, S.Error, opts);
    await this.order.finished(lease.orderingKey, lease.taskId, res.status);
    this.telemetry.failed(lease, res, 'error');
    return res;
  }

  async timedOut(lease: Lease, error: api.TaskFailure, opts: api.FailOptions = {}): Promise<api.FailResult> {
    const res = await endAttempt(this.ends, lease, error, S.Timeout, opts);
    await this.order.finished(lease.orderingKey, lease.taskId, res.status);
    this.telemetry.failed(lease, res, 'timeout');
    return res;
  }

  async cancelled(lease: Lease, reason = 'cancel requested', opts: api.LeaseWriteOptions = {}) {
    const res = await this.leaseWrite(lease, opts, writes.cancelled, boundText(reason, storedLimits.reasonBytes));
    if (res.owned) await this.order.finished(lease.orderingKey, lease.taskId, S.Cancelled);
    this.telemetry.cancelledByWorker(lease, res.owned);
    return res;
  }

  async release(lease: Lease, reason = 'released', opts: api.ReleaseOptions = {}): Promise<api.LeaseEndResult> {
    const res = await releaseLease(this.ends, lease, boundText(reason, storedLimits.reasonBytes), opts);
    await this.order.finished(lease.orderingKey, lease.taskId, res.status);
    this.telemetry.released(lease, res);
    return res;
  }

  async cancel(taskId: string, opts: { by?: string; reason?: string } = {}): Promise<api.CancelResult> {
    const res = await this.cancelDecided(taskId, opts.by, opts.reason ?? 'cancelled');
    if (res.outcome === 'cancelled') await this.order.finished(res.task?.orderingKey, taskId, S.Cancelled);
    this.telemetry.cancelled(res);
    return res;
  }

  /** Reads, decides, writes conditional on the version read; on a lost race reads and decides again, never blindly. */
  private async cancelDecided(taskId: string, by: string | undefined, reason: string): Promise<api.CancelResult> {
    const { cancelWaiting, requestCancel } = writes;
    for (let i = 0; i < MAX_CONFLICT_RETRIES; i++) {
      const task = await this.tasks.findOne(queries.byId.filter(taskId));
      if (!task) return { outcome: 'not-found', task: null };
      const now = this.clock.now();
      let updated: Task | null;
      if (isIn(cancelWaiting.from, task.status)) {
        const filter = cancelWaiting.filter(taskId, task.version, task.status);
        updated = await this.tasks.findOneAndUpdate(filter, cancelWaiting.update(task.status, now, by, reason), after);
        if (updated) return { outcome: 'cancelled', task: updated };
      } else if (isIn(requestCancel.from, task.status)) {
        if (task.cancelRequested) return { outcome: 'requested', task };
        const filter = requestCancel.filter(taskId, task.version, task.status);
        updated = await this.tasks.findOneAndUpdate(filter, requestCancel.update(now), after);
        if (updated) return { outcome: 'requested', task: updated };
      } else {
        return { outcome: 'already-finished', task };
      }
    }
    const latest = await this.tasks.findOne(queries.byId.filter(taskId));
    throw new VersionConflictError(taskId, -1, latest?.version ?? null, latest?.status);
  }

  /** An operator's retry: a failed, errored, timed-out or cancelled task goes Retrying, due now, one more attempt. */
  async retry(taskId: string, opts: { by?: string; expectedVersion?: number } = {}): Promise<Task> {
    const task = await this.tasks.findOne(queries.byId.filter(taskId));
    if (!task) throw new TaskNotFoundError(taskId);
    const expected = opts.expectedVersion ?? task.version;
    if (task.version !== expected) throw new VersionConflictError(taskId, expected, task.version, task.status);
    if (!isIn(writes.operatorRetry.from, task.status)) throw new TaskStateError(taskId, task.status, 'retry');
    const filter = writes.operatorRetry.filter(taskId, task.version, task.status);
    // A task of a key that is not its key's head waits for its turn again, last in the key's order.
    const heldAs = await this.order.placeForRetry(task);
    const update = writes.operatorRetry.update(task, this.clock.now(), opts.by, heldAs);
    const updated = await this.tasks.findOneAndUpdate(filter, update, after);
    if (!updated) {
      const latest = await this.tasks.findOne(queries.byId.filter(taskId));
      throw new VersionConflictError(taskId, task.version, latest?.version ?? null, latest?.status);
    }
    await this.order.retried(updated);
    this.telemetry.retriedByOperator(updated.type);
    return updated;
  }

  /** A versioned state change by someone who holds no lease (operators, tools): never out of a leased state. */
  async transition(taskId: string, u: api.VersionedUpdate): Promise<Task> {
    const filter = writes.transition.filter(taskId, u.expectedVersion, u.to);
    const updated = await this.tasks.findOneAndUpdate(filter, writes.transition.update(u, this.clock.now()), after);
    if (updated) await this.order.finished(updated.orderingKey, taskId, updated.status);
    if (updated) return updated;
    const latest = await this.tasks.findOne(queries.byId.filter(taskId));
    if (!latest) throw new TaskNotFoundError(taskId);
    const expected = u.expectedVersion;
    if (latest.version !== expected) throw new VersionConflictError(taskId, expected, latest.version, latest.status);
    throw new InvalidTransitionError(latest.status, u.to, taskId);
  }

  /** Stalled leases taken back (./lease-ends.ts): by the server's clock, each task on its own. */
  async reclaim(opts: api.ReclaimOptions): Promise<api.ReclaimResult> {
    const result = await reclaimStalled(this.ends, opts);
    await this.order.reclaimed(result, opts.now ?? this.clock.now(), opts.heartbeatTimeoutMs);
    this.telemetry.reclaimed(result);
    return result;
  }

  /** Finished -> Archived -> Deleted -> removed, each by age; status-conditional, so idempotent and race-safe. */
  async applyRetention(opts: api.RetentionOptions): Promise<api.RetentionResult> {
    const now = opts.now ?? this.clock.now();
    const ago = (ms: number) => new Date(now.getTime() - ms);
    const { archive, delete: remove } = writes;
    const archived = await this.tasks.updateMany(archive.filter(ago(opts.archiveAfterMs)), archive.update(now));
    const deleted = await this.tasks.updateMany(remove.filter(ago(opts.deleteAfterMs)), remove.update(now));
    const forgetAt = new Date(now.getTime() + (opts.forgetKeysAfterMs ?? DEFAULT_FORGET_KEYS_AFTER_MS));
    const purged = await purgeKeepingKeys(this.tasks, this.keys, ago(opts.purgeAfterMs), now, forgetAt);
    return { archived: archived.modifiedCount, deleted: deleted.modifiedCount, purged };
  }

  stats(now?: Date): Promise<api.TaskStats> {
    return taskStats(this.tasks, now);
  }

  throughput(sinceMs: number, now?: Date): Promise<api.TaskThroughput> {
    return taskThroughput(this.tasks, sinceMs, now);
  }

  orderingKeys = (filter?: { blocked?: boolean; limit?: number }) => this.order.list(filter);
  unblockKey = (key: string) => this.order.unblock(key);

  /** One lease write. When it matched nothing, one read tells whether an earlier try (same write id) applied. */
  private async leaseWrite<A>(lease: Lease, opts: api.LeaseWriteOptions, statement: LeaseStatement<A>, arg: A) {
    const w = opts.writeId ?? newWriteId();
    const res = await this.tasks.updateOne(statement.filter(lease), statement.update(lease, this.clock.now(), w, arg));
    if (res.matchedCount === 1) return { owned: true };
    const doc = await this.tasks.findOne(queries.byId.filter(lease.taskId), { projection: writeEntry(w) });
    return { owned: doc !== null && entryWritten(doc) !== undefined } satisfies api.LeaseWriteResult;
  }
}
