import type { Collection, Db, Filter, UpdateFilter } from 'mongodb';
import type { NewTask, Task } from '../../tasks/model.js';
import { JobTaskStatus as S, type JobTaskStatus } from '../../tasks/status.js';
import { InvalidTransitionError } from '../../tasks/transitions.js';
import { StoreInstrumentation } from '../instrumentation.js';
import { currentTraceparent } from '../../telemetry/tracing.js';
import { backoffDelay, type BackoffOptions } from '../backoff.js';
import { TaskNotFoundError, TaskStateError, VersionConflictError } from '../errors.js';
import { newLeaseToken, newWriteId } from '../ids.js';
import type * as api from '../task-store.js';
import { tasksCollection } from './collections.js';
import { taskIndexes } from './indexes.js';
import { queries } from './queries.js';
import { decodeCursor, listTasks, taskStats, taskThroughput } from './reports.js';
import { TurnBatch, type Settled } from './turn-batch.js';
import { duplicatesOf, entryWritten, failApplied, sharedAnswers, toClaimed, writeEntry } from './write-outcomes.js';
import { writes } from './writes.js';
import { MongoDeadLetterMarks } from './dead-letter-marks.js';

export interface MongoTaskStoreOptions {
  /** Default retries for tasks that do not say (Worker:MaxRetries). */
  maxRetries?: number;
  /** Backoff between attempts (Worker:RetryBaseDelay, Worker:RetryMaxDelay). */
  backoff?: BackoffOptions;
}

type Lease = api.Lease;
type LeaseWrite = { lease: Lease; w: string }; // one caller's lease write: its lease and its logical write's id
type Answers = Settled<api.LeaseWriteResult>[];
/** A lease write's statement (start, complete, cancelled, release): guarded by the lease, stamped with the write id. */
interface LeaseStatement<A> {
  filter(lease: Lease): Filter<Task>;
  update(lease: Lease, now: Date, w: string, arg: A): UpdateFilter<Task>;
}

/** Rounds at most of a batch claim whose candidates other workers take, and of a cancel whose write loses races. */
const [MAX_CLAIM_ROUNDS, MAX_CONFLICT_RETRIES] = [3, 5];
const isIn = (states: readonly JobTaskStatus[], s: JobTaskStatus) => states.includes(s);
const after = { returnDocument: 'after' } as const;
type Terminal = typeof S.Error | typeof S.Timeout;

/**
 * The MongoDB task store: the logic of every operation (read, decide, write). Every statement that changes a task
 * is declared in ./writes.ts and every read in ./queries.ts; this class is their only caller. Read-only reports
 * (list, stats, throughput) are in ./reports.ts; dead-letter marks in ./dead-letter-marks.ts.
 */
export class MongoTaskStore implements api.TaskStore {
  readonly tasks: Collection<Task>;
  readonly deadLetters: MongoDeadLetterMarks;
  private readonly maxRetries: number;
  private readonly backoff: BackoffOptions;
  /** Metrics for every state change this store makes (lib/telemetry); a no-op until telemetry is set up. */
  private readonly telemetry = new StoreInstrumentation();
  /** start() and result-less complete() calls of one event-loop turn go as one bulk write (leaseWriteMany). */
  private readonly starts = new TurnBatch((all: LeaseWrite[]) => this.leaseWriteMany(all, writes.start, undefined));
  private readonly completions = new TurnBatch((all: LeaseWrite[]) => this.leaseWriteMany(all, writes.complete, null));

  constructor(db: Db, options: MongoTaskStoreOptions = {}) {
    this.tasks = tasksCollection(db);
    this.deadLetters = new MongoDeadLetterMarks(this.tasks);
    this.maxRetries = options.maxRetries ?? 3;
    this.backoff = options.backoff ?? { baseMs: 5_000, capMs: 3_600_000 };
  }

  async ensureIndexes(): Promise<void> {
    const specs = taskIndexes.map((i) => ({ key: i.key, name: i.name, ...(i.unique ? { unique: true } : {}) }));
    await this.tasks.createIndexes(specs);
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
    const now = new Date();
    const docs = input.map((t) => writes.ingest.document(t, now, { maxRetries: this.maxRetries }, opts.by));
    // Inputs already stored are duplicates (duplicatesOf rethrows any other failure).
    const duplicate = new Set(await this.tasks.insertMany(docs, { ordered: false }).then(() => [], duplicatesOf));
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
    const now = opts.now ?? new Date();
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
   * Up to `limit` tasks, three round trips a round: candidate ids in claim order, one conditional updateMany
   * under a fresh token (atomic per task: no task goes to two workers), a read of what the token won.
   * When other workers took some candidates, another round (at most MAX_CLAIM_ROUNDS) tries fresh ones.
   */
  private async claimBatch(workerId: string, opts: api.ClaimOptions, limit: number): Promise<api.ClaimedTask[]> {
    const won: Task[] = [];
    for (let round = 0; round < MAX_CLAIM_ROUNDS && won.length < limit; round++) {
      const now = opts.now ?? new Date();
      const candidates = await this.tasks
        .find(queries.claimable.filter(now, opts.types), { projection: { _id: 1 } })
        .sort(queries.claimable.sort!)
        .limit(limit - won.length)
        .toArray();
      if (candidates.length === 0) break;
      const leaseToken = newLeaseToken();
      const update = writes.claimBatch.update(workerId, leaseToken, now);
      const ids = candidates.map((c) => c._id);
      const res = await this.tasks.updateMany(writes.claimBatch.filter(ids, now), update);
      const mine = queries.byLeaseToken.filter(leaseToken);
      if (res.modifiedCount > 0) won.push(...(await this.tasks.find(mine).toArray()));
      // Everything we saw was ours: nobody raced us, so there is nothing more to gain from another round.
      if (res.modifiedCount === candidates.length) break;
    }
    won.sort((a, b) => b.priority - a.priority || a.createdAt.getTime() - b.createdAt.getTime());
    return won.map(toClaimed);
  }

  async start(lease: Lease, opts: api.LeaseWriteOptions = {}): Promise<api.LeaseWriteResult> {
    const result = await this.starts.add({ lease, w: opts.writeId ?? newWriteId() });
    this.telemetry.started(lease, result.owned);
    return result;
  }

  async heartbeat(lease: Lease, opts: { progress?: unknown } = {}): Promise<api.HeartbeatResult> {
    const update = writes.heartbeat.update(new Date(), opts.progress);
    const options = { returnDocument: 'after', projection: { cancelRequested: 1 } } as const;
    const doc = await this.tasks.findOneAndUpdate(writes.heartbeat.filter(lease), update, options);
    return { owned: doc !== null, cancelRequested: doc?.cancelRequested === true };
  }

  /** One updateMany and one read per lease token, whatever the number of tasks. */
  async heartbeatMany(leases: readonly Lease[]): Promise<Map<string, api.HeartbeatResult>> {
    const now = new Date();
    const byToken = new Map<string, string[]>();
    for (const l of leases) byToken.set(l.leaseToken, [...(byToken.get(l.leaseToken) ?? []), l.taskId]);
    const out = new Map<string, api.HeartbeatResult>();
    for (const l of leases) out.set(l.taskId, { owned: false, cancelRequested: false });
    await Promise.all(
      [...byToken].map(async ([token, ids]) => {
        const filter = writes.heartbeatMany.filter(ids, token);
        await this.tasks.updateMany(filter, writes.heartbeatMany.update(now));
        const owned = await this.tasks.find(filter, { projection: { _id: 1, cancelRequested: 1 } }).toArray();
        for (const d of owned) out.set(d._id, { owned: true, cancelRequested: d.cancelRequested === true });
      }),
    );
    return out;
  }

  async complete(lease: Lease, result?: unknown, opts: api.LeaseWriteOptions = {}): Promise<api.LeaseWriteResult> {
    // Only result-less completions share a write: a result the driver or server refuses must fail its own task alone.
    const res =
      result === undefined || result === null
        ? await this.completions.add({ lease, w: opts.writeId ?? newWriteId() })
        : await this.leaseWrite(lease, opts, writes.complete, result);
    this.telemetry.succeeded(lease, res.owned);
    return res;
  }

  async fail(lease: Lease, error: api.TaskFailure, opts: api.FailOptions = {}): Promise<api.FailResult> {
    const res = await this.endAttempt(lease, error, S.Error, opts);
    this.telemetry.failed(lease, res, 'error');
    return res;
  }

  async timedOut(lease: Lease, error: api.TaskFailure, opts: api.FailOptions = {}): Promise<api.FailResult> {
    const res = await this.endAttempt(lease, error, S.Timeout, opts);
    this.telemetry.failed(lease, res, 'timeout');
    return res;
  }

  async cancelled(lease: Lease, reason = 'cancel requested', opts: api.LeaseWriteOptions = {}) {
    const res = await this.leaseWrite(lease, opts, writes.cancelled, reason);
    this.telemetry.cancelledByWorker(lease, res.owned);
    return res;
  }

  async release(lease: Lease, reason = 'released', opts: api.LeaseWriteOptions = {}) {
    const res = await this.leaseWrite(lease, opts, writes.release, reason);
    this.telemetry.released(lease);
    return res;
  }

  async cancel(taskId: string, opts: { by?: string; reason?: string } = {}): Promise<api.CancelResult> {
    const res = await this.cancelDecided(taskId, opts.by, opts.reason ?? 'cancelled');
    this.telemetry.cancelled(res);
    return res;
  }

  /** Reads, decides, writes conditional on the version read; on a lost race reads and decides again, never blindly. */
  private async cancelDecided(taskId: string, by: string | undefined, reason: string): Promise<api.CancelResult> {
    const { cancelWaiting, requestCancel } = writes;
    for (let i = 0; i < MAX_CONFLICT_RETRIES; i++) {
      const task = await this.tasks.findOne(queries.byId.filter(taskId));
      if (!task) return { outcome: 'not-found', task: null };
      const now = new Date();
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
    const update = writes.operatorRetry.update(task, new Date(), opts.by);
    const updated = await this.tasks.findOneAndUpdate(filter, update, after);
    if (!updated) {
      const latest = await this.tasks.findOne(queries.byId.filter(taskId));
      throw new VersionConflictError(taskId, task.version, latest?.version ?? null, latest?.status);
    }
    this.telemetry.retriedByOperator(updated.type);
    return updated;
  }

  /** A versioned state change by someone who holds no lease (operators, tools): never out of a leased state. */
  async transition(taskId: string, u: api.VersionedUpdate): Promise<Task> {
    const filter = writes.transition.filter(taskId, u.expectedVersion, u.to);
    const updated = await this.tasks.findOneAndUpdate(filter, writes.transition.update(u, new Date()), after);
    if (updated) return updated;
    const latest = await this.tasks.findOne(queries.byId.filter(taskId));
    if (!latest) throw new TaskNotFoundError(taskId);
    const expected = u.expectedVersion;
    if (latest.version !== expected) throw new VersionConflictError(taskId, expected, latest.version, latest.status);
    throw new InvalidTransitionError(latest.status, u.to, taskId);
  }

  /**
   * Tasks whose owner stopped heartbeating lose their lease. Each write is conditional on the lease
   * token it saw and on the heartbeat still being stale, so a reclaimer racing another reclaimer (or an
   * owner whose heartbeat just arrived) changes nothing and counts a lost race.
   */
  async reclaim(opts: api.ReclaimOptions): Promise<api.ReclaimResult> {
    const now = opts.now ?? new Date();
    const cutoff = new Date(now.getTime() - opts.heartbeatTimeoutMs);
    const projection = { _id: 1, type: 1, owner: 1, attempts: 1, maxRetries: 1, status: 1, heartbeatAt: 1 };
    const limit = opts.limit ?? 1000;
    const stalled = await this.tasks.find(queries.stalled.filter(cutoff), { projection }).limit(limit).toArray();
    const result: api.ReclaimResult = { found: stalled.length, retried: 0, timedOut: 0, lostRaces: 0, taskIds: [] };
    for (const t of stalled) {
      if (!t.owner) continue;
      const retry = t.attempts <= (opts.maxRetriesOf?.(t.type) ?? t.maxRetries);
      const since = t.heartbeatAt?.toISOString() ?? 'never';
      const ms = opts.heartbeatTimeoutMs;
      const message = `lease expired: worker ${t.owner.workerId} sent no heartbeat since ${since} (timeout ${ms} ms)`;
      const res = await this.tasks.updateOne(
        writes.reclaim.filter(t._id, t.owner.leaseToken, cutoff),
        writes.reclaim.update({
          now,
          from: t.status,
          to: retry ? S.Retrying : S.Timeout,
          by: opts.by ?? 'reclaimer',
          reason: 'lease expired',
          error: { message, kind: 'LeaseExpired', workerId: t.owner.workerId, attempt: t.attempts, at: now },
          ...(retry ? { nextAttemptAt: new Date(now.getTime() + backoffDelay(t.attempts, this.backoff)) } : {}),
        }),
      );
      if (res.matchedCount !== 1) {
        result.lostRaces++;
        continue;
      }
      result.taskIds.push(t._id);
      result[retry ? 'retried' : 'timedOut']++;
    }
    this.telemetry.reclaimed(result);
    return result;
  }

  /** Finished -> Archived -> Deleted -> removed, each by age; status-conditional, so idempotent and race-safe. */
  async applyRetention(opts: api.RetentionOptions): Promise<api.RetentionResult> {
    const now = opts.now ?? new Date();
    const ago = (ms: number) => new Date(now.getTime() - ms);
    const { archive, delete: remove } = writes;
    const archived = await this.tasks.updateMany(archive.filter(ago(opts.archiveAfterMs)), archive.update(now));
    const deleted = await this.tasks.updateMany(remove.filter(ago(opts.deleteAfterMs)), remove.update(now));
    const purged = await this.tasks.deleteMany(writes.purge.filter(ago(opts.purgeAfterMs)));
    return { archived: archived.modifiedCount, deleted: deleted.modifiedCount, purged: purged.deletedCount };
  }

  stats(now?: Date): Promise<api.TaskStats> {
    return taskStats(this.tasks, now);
  }

  throughput(sinceMs: number, now?: Date): Promise<api.TaskThroughput> {
    return taskThroughput(this.tasks, sinceMs, now);
  }

  /**
   * Failure and timeout: the error is recorded; with attempts left (and retryable) the task goes Retrying,
   * due after backoff, else `terminal`. The lease's attempt is exact (only a claim changes attempts, and it
   * changes the token). The read that decides also shows whether an earlier try (same write id) applied.
   */
  private async endAttempt(lease: Lease, error: api.TaskFailure, terminal: Terminal, opts: api.FailOptions) {
    const w = opts.writeId ?? newWriteId();
    const statement = terminal === S.Timeout ? writes.timedOut : writes.fail;
    const projection = { ...writeEntry(w), maxRetries: 1, owner: 1 };
    const current = await this.tasks.findOne(queries.byId.filter(lease.taskId), { projection });
    if (!current) return { owned: false };
    const earlier = failApplied(current);
    if (earlier) return earlier;
    const held = current.owner?.leaseToken === lease.leaseToken && isIn(statement.from, current.status);
    if (!held) return { owned: false };
    const now = new Date();
    const retry = opts.retryable !== false && lease.attempt <= (opts.maxRetries ?? current.maxRetries);
    const to: JobTaskStatus = retry ? S.Retrying : terminal;
    const nextAttemptAt = retry ? new Date(now.getTime() + backoffDelay(lease.attempt, this.backoff)) : undefined;
    const { workerId, attempt } = lease;
    const kind = error.kind ?? (terminal === S.Timeout ? 'Timeout' : 'Error');
    const stack = error.stack ? { stack: error.stack } : {};
    const record = { message: error.message, ...stack, kind, workerId, attempt, at: now };
    const due = nextAttemptAt ? { nextAttemptAt } : {};
    const reason = error.message.slice(0, 500);
    const update = statement.update({ now, from: current.status, to, by: workerId, reason, error: record, w, ...due });
    const res = await this.tasks.updateOne(statement.filter(lease, current.status), update);
    if (res.matchedCount === 1) return { owned: true, status: to, ...due };
    const later = await this.tasks.findOne(queries.byId.filter(lease.taskId), { projection: writeEntry(w) });
    return (later && failApplied(later)) ?? { owned: false };
  }

  /** One lease write. When it matched nothing, one read tells whether an earlier try (same write id) applied. */
  private async leaseWrite<A>(lease: Lease, opts: api.LeaseWriteOptions, statement: LeaseStatement<A>, arg: A) {
    const w = opts.writeId ?? newWriteId();
    const res = await this.tasks.updateOne(statement.filter(lease), statement.update(lease, new Date(), w, arg));
    if (res.matchedCount === 1) return { owned: true };
    const doc = await this.tasks.findOne(queries.byId.filter(lease.taskId), { projection: writeEntry(w) });
    return { owned: doc !== null && entryWritten(doc) !== undefined } satisfies api.LeaseWriteResult;
  }

  /**
   * The lease writes of one turn as one unordered bulk write: one updateOne per caller, guarded by its lease,
   * stamped with its write id. If fewer matched than were sent (or it threw), one read by id tells each caller.
   */
  private async leaseWriteMany<A>(items: LeaseWrite[], statement: LeaseStatement<A>, arg: A): Promise<Answers> {
    const now = new Date();
    const ops = items.map(({ lease, w }) => ({
      updateOne: { filter: statement.filter(lease), update: statement.update(lease, now, w, arg) },
    }));
    let failure: unknown;
    try {
      const res = await this.tasks.bulkWrite(ops, { ordered: false });
      if (res.matchedCount === items.length) return items.map(() => ({ ok: true, value: { owned: true } }));
    } catch (e) {
      failure = e;
    }
    const ids = [...new Set(items.map((i) => i.lease.taskId))];
    const read = this.tasks.find(queries.byIds.filter(ids), { projection: { 'history.w': 1 } }).toArray();
    const tasks = await read.catch((e: unknown) => Promise.reject(failure ?? e));
    return sharedAnswers(items, tasks, failure);
  }
}
