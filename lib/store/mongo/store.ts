import type { Collection, Db } from 'mongodb';
import type { NewTask, Task } from '../../tasks/model.js';
import { JobTaskStatus as S } from '../../tasks/status.js';
import type { BackoffOptions } from '../backoff.js';
import { StoreInstrumentation } from '../../telemetry/store-instrumentation.js';
import { currentTraceparent } from '../../telemetry/tracing.js';
import type {
  CancelResult, ClaimedTask, ClaimOptions, FailOptions, FailResult, HeartbeatResult, IngestResult, Lease, LeaseWriteResult,
  ListTasksFilter, ListTasksPage, ReclaimOptions, ReclaimResult, RetentionOptions, RetentionResult, TaskFailure, TaskStats, TaskStore, TaskThroughput, VersionedUpdate,
} from '../types.js';
import { tasksCollection } from './collections.js';
import { taskIndexes } from './indexes.js';
import { claimBatch, claimOne } from './ops/claim.js';
import { ingest } from './ops/ingest.js';
import * as leaseOps from './ops/lease.js';
import { cancel, retry, transition } from './ops/cancel.js';
import { reclaim } from './ops/reclaim.js';
import { applyRetention } from './ops/retention.js';
import { stats } from './ops/stats.js';
import { throughput } from './ops/throughput.js';
import { list } from './ops/list.js';
import { queries } from './queries.js';
import { TurnBatch } from './turn-batch.js';

export interface MongoTaskStoreOptions {
  /** Default retries for tasks that do not say (Worker:MaxRetries). */
  maxRetries?: number;
  /** Backoff between attempts (Worker:RetryBaseDelay, Worker:RetryMaxDelay). */
  backoff?: BackoffOptions;
}

/** The MongoDB task store. Each operation lives in its own module under ./ops; this class only wires them. */
export class MongoTaskStore implements TaskStore {
  readonly tasks: Collection<Task>;
  private readonly maxRetries: number;
  private readonly backoff: BackoffOptions;
  /** Metrics for every state change this store makes (lib/telemetry); a no-op until telemetry is set up. */
  private readonly telemetry = new StoreInstrumentation();
  /** start() and result-less complete() calls of one event-loop turn go as one write (ops/lease.ts writeLeases). */
  private readonly starts: TurnBatch<Lease, LeaseWriteResult>;
  private readonly completions: TurnBatch<Lease, LeaseWriteResult>;

  constructor(db: Db, options: MongoTaskStoreOptions = {}) {
    this.tasks = tasksCollection(db);
    this.maxRetries = options.maxRetries ?? 3;
    this.backoff = options.backoff ?? { baseMs: 5_000, capMs: 3_600_000 };
    this.starts = new TurnBatch((leases) => leaseOps.startMany(this.tasks, leases));
    this.completions = new TurnBatch((leases) => leaseOps.completeManyWithoutResult(this.tasks, leases));
  }

  async ensureIndexes(): Promise<void> {
    await this.tasks.createIndexes(taskIndexes.map((i) => ({ key: i.key, name: i.name, ...(i.unique ? { unique: true } : {}) })));
  }

  async ingest(tasks: readonly NewTask[], opts: { by?: string } = {}): Promise<IngestResult> {
    // Ingest inside a span stores that span's context, so the processing span can link back to it.
    const traceparent = currentTraceparent();
    const input = traceparent ? tasks.map((t) => (t.traceparent ? t : { ...t, traceparent })) : tasks;
    const result = await ingest(this.tasks, input, { maxRetries: this.maxRetries }, opts.by);
    this.telemetry.ingested(input, result);
    return result;
  }

  get(taskId: string): Promise<Task | null> {
    return this.tasks.findOne(queries.byId.filter(taskId));
  }

  list(filter: ListTasksFilter, page?: { limit?: number; cursor?: string | null }): Promise<ListTasksPage> {
    return list(this.tasks, filter, page);
  }

  async claim(workerId: string, opts: ClaimOptions = {}): Promise<ClaimedTask[]> {
    const limit = opts.limit ?? 1;
    if (opts.types && opts.types.length === 0) return [];
    const began = performance.now();
    const claimed = limit <= 1 ? await claimOne(this.tasks, workerId, opts) : await claimBatch(this.tasks, workerId, { ...opts, limit });
    this.telemetry.claimed(claimed, performance.now() - began, limit > 1);
    return claimed;
  }

  async start(lease: Lease): Promise<LeaseWriteResult> {
    const result = await this.starts.add(lease);
    this.telemetry.started(lease, result.owned);
    return result;
  }

  heartbeat(lease: Lease, opts: { progress?: unknown } = {}): Promise<HeartbeatResult> {
    return leaseOps.heartbeat(this.tasks, lease, opts.progress);
  }

  heartbeatMany(leases: readonly Lease[]): Promise<Map<string, HeartbeatResult>> {
    return leaseOps.heartbeatMany(this.tasks, leases);
  }

  async complete(lease: Lease, result?: unknown): Promise<LeaseWriteResult> {
    // Only result-less completions share a write: a result the server refuses must fail its own task alone.
    const res = result === undefined || result === null ? await this.completions.add(lease) : await leaseOps.complete(this.tasks, lease, result);
    this.telemetry.succeeded(lease, res.owned);
    return res;
  }

  async fail(lease: Lease, error: TaskFailure, opts: FailOptions = {}): Promise<FailResult> {
    const res = await leaseOps.failWith(this.tasks, lease, error, S.Error, { ...opts, backoff: this.backoff });
    this.telemetry.failed(lease, res, 'error');
    return res;
  }

  async timedOut(lease: Lease, error: TaskFailure, opts: FailOptions = {}): Promise<FailResult> {
    const res = await leaseOps.failWith(this.tasks, lease, error, S.Timeout, { ...opts, backoff: this.backoff });
    this.telemetry.failed(lease, res, 'timeout');
    return res;
  }

  async cancelled(lease: Lease, reason?: string): Promise<LeaseWriteResult> {
    const res = await leaseOps.cancelled(this.tasks, lease, reason);
    this.telemetry.cancelledByWorker(lease, res.owned);
    return res;
  }

  async release(lease: Lease, reason?: string): Promise<LeaseWriteResult> {
    const res = await leaseOps.release(this.tasks, lease, reason);
    this.telemetry.released(lease);
    return res;
  }

  async cancel(taskId: string, opts: { by?: string; reason?: string } = {}): Promise<CancelResult> {
    const res = await cancel(this.tasks, taskId, opts.by, opts.reason);
    this.telemetry.cancelled(res);
    return res;
  }

  async retry(taskId: string, opts: { by?: string; expectedVersion?: number } = {}): Promise<Task> {
    const task = await retry(this.tasks, taskId, opts.by, opts.expectedVersion);
    this.telemetry.retriedByOperator(task.type);
    return task;
  }

  transition(taskId: string, update: VersionedUpdate): Promise<Task> {
    return transition(this.tasks, taskId, update);
  }

  async reclaim(opts: ReclaimOptions): Promise<ReclaimResult> {
    const res = await reclaim(this.tasks, { ...opts, backoff: this.backoff });
    this.telemetry.reclaimed(res);
    return res;
  }

  applyRetention(opts: RetentionOptions): Promise<RetentionResult> {
    return applyRetention(this.tasks, opts);
  }

  stats(now?: Date): Promise<TaskStats> {
    return stats(this.tasks, now);
  }

  throughput(sinceMs: number, now?: Date): Promise<TaskThroughput> {
    return throughput(this.tasks, sinceMs, now);
  }
}
