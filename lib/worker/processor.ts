import type { AppConfig } from '../config/load.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { ClaimedTask, Lease, TaskStore } from '../store/task-store.js';
import { JobTaskStatus as S } from '../tasks/status.js';
import type { WorkerState } from '../workers/model.js';
import type { HandlerRegistry } from './handlers.js';
import { Heartbeat } from './heartbeat.js';
import { resolveWorkerIdentity, type WorkerIdentity } from './identity.js';
import type { WorkerRegistry, WorkerRegistration } from './registry.js';
import { createStorePolicy, DatabaseUnavailableError, type ResilienceOptions, type StorePolicy } from './resilience.js';
import { TaskRun, type OutcomeKind, type TaskOutcome } from './task-run.js';
import { Waker } from './waker.js';

export type WorkerSettings = AppConfig['Worker'];

export interface WorkerHooks {
  /**
   * After each task's outcome is recorded. 'succeeded' is reported only when our complete() owned the
   * task, so a side effect keyed on it happens once per task. Errors are logged, never fatal.
   */
  onTaskFinished?(outcome: TaskOutcome): void | Promise<void>;
}

export interface WorkerOptions {
  store: TaskStore;
  handlers: HandlerRegistry;
  /** The Worker section (loadConfig().Worker). */
  settings: WorkerSettings;
  /** The `workers` collection; without it the worker keeps no registry record. */
  registry?: WorkerRegistry;
  /** Default: resolved from the environment and Worker:StateDirectory (and released on stop). */
  identity?: WorkerIdentity;
  logger?: Logger;
  /** Shared policy (several workers of one process); default: one per worker from `resilience`. */
  policy?: StorePolicy;
  resilience?: ResilienceOptions;
  hooks?: WorkerHooks;
  /** A serverless invocation's deadline: nothing is claimed that cannot finish before it. */
  deadline?: Date | number;
  /** Kept free before the deadline for the last writes (default: 10% of the budget, 1-5 s). */
  deadlineMarginMs?: number;
  /** Stop once a poll finds no work and nothing runs (one invocation's batch). */
  exitWhenIdle?: boolean;
  /** How long an aborted handler may take to wind down before the worker moves on (default 2 s). */
  abortGraceMs?: number;
  /** Claim at most this many tasks in all, then stop once they finish. */
  maxTasks?: number;
  /**
   * Claim tasks of any type, failing those without a handler at once (not retried) instead of leaving
   * them for other workers. For a catch-all worker; ignored on a deadline (types must fit).
   */
  claimUnknownTypes?: boolean;
}

export type StopReason = 'idle' | 'deadline' | 'max-tasks' | 'stopped' | 'error' | 'SIGTERM' | 'SIGINT' | (string & {});

export interface WorkerSummary {
  workerId: string;
  startedAt: Date;
  finishedAt: Date;
  durationMs: number;
  stoppedBecause: StopReason;
  claimed: number;
  outcomes: Record<OutcomeKind, number>;
}

/**
 * Worker ids live in this process. Two workers of one process never share an id (concurrent serverless
 * invocations share the process's identity): a worker adopts tasks Assigned to its id, so a shared id
 * would let two of them run one lease.
 */
const activeIds = new Set<string>();

function reserveWorkerId(id: string): string {
  let candidate = id;
  for (let n = 2; activeIds.has(candidate); n++) candidate = `${id}.${n}`;
  activeIds.add(candidate);
  return candidate;
}

const outcomeKinds: readonly OutcomeKind[] = ['succeeded', 'retrying', 'failed', 'timed-out', 'cancelled', 'released', 'lease-lost', 'rejected', 'abandoned'];

/**
 * A worker: polls for tasks of the types it has handlers for, runs them under a concurrency limit,
 * heartbeats their leases, records each outcome through the fenced store writes, and drains on stop.
 * The same class runs a long-lived process (run until stop()) and one serverless invocation
 * (exitWhenIdle + deadline; see processBatch).
 */
export class Worker {
  readonly id: string;
  readonly identity: WorkerIdentity;
  readonly done: Promise<WorkerSummary>;

  private readonly o: WorkerOptions;
  private readonly log: Logger;
  private readonly policy: StorePolicy;
  private readonly heartbeat: Heartbeat;
  private readonly waker = new Waker();
  private readonly ownsIdentity: boolean;
  private readonly concurrency: number;
  private readonly deadline: number | undefined;
  private readonly margin: number;
  private readonly abortGraceMs: number;
  /** Whether batch claims run one batch ahead of free slots (see wantsClaim). */
  private readonly claimsAhead: boolean;

  /**
   * Every run holding a lease, by task id and lease token: a task that failed may be claimed again (its
   * retry due at once) while the first run is still recording its outcome, so a task id alone is not a key.
   * `waiting` runs have no slot yet, `executing` ones do.
   */
  private readonly runs = new Map<string, TaskRun>();
  private readonly waiting: TaskRun[] = [];
  private readonly executing = new Map<string, Promise<void>>();

  private started = false;
  private stopping = false;
  private stopReason: StopReason = 'stopped';
  private drainUntil: number | undefined;
  private hardStopAt: number | undefined;
  private claimedCount = 0;
  private processedSinceBeat = 0;
  private orphanCheckDue = true;
  /** A claimed task's own timeout did not fit before the deadline: claiming again would only get it back. */
  private claimsClosed = false;
  private paused = false;
  private readonly outcomes = Object.fromEntries(outcomeKinds.map((k) => [k, 0])) as Record<OutcomeKind, number>;
  private readonly startedAt = new Date();
  private resolveDone!: (s: WorkerSummary) => void;

  constructor(options: WorkerOptions) {
    this.o = options;
    this.ownsIdentity = !options.identity;
    this.identity = options.identity ?? resolveWorkerIdentity({ ...(options.settings.StateDirectory ? { stateDirectory: options.settings.StateDirectory } : {}) });
    this.id = reserveWorkerId(this.identity.id);
    this.log = (options.logger ?? silentLogger).child({ workerId: this.id });
    this.policy = options.policy ?? createStorePolicy(this.log, options.resilience);
    this.concurrency = options.settings.Concurrency ?? options.settings.BatchSize;
    this.deadline = options.deadline === undefined ? undefined : new Date(options.deadline).getTime();
    const budget = this.deadline === undefined ? 0 : this.deadline - Date.now();
    this.margin = options.deadlineMarginMs ?? Math.min(5_000, Math.max(1_000, Math.floor(budget * 0.1)));
    this.abortGraceMs = options.abortGraceMs ?? 2_000;
    this.claimsAhead = options.settings.BatchSize > 1 && this.deadline === undefined;
    this.heartbeat = new Heartbeat({
      store: options.store,
      policy: this.policy,
      logger: this.log,
      intervalMs: options.settings.HeartbeatInterval,
      target: {
        runs: () => this.runs.values(),
        onLeaseLost: (run) => this.onLeaseLost(run),
        onCancelRequested: (run) => run.abort('cancel'),
        beatRegistry: () => this.beatRegistry(),
      },
    });
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  /** Starts polling; returns at once. `done` resolves with the summary when the worker has stopped. */
  start(): this {
    if (this.started) return this;
    this.started = true;
    void this.main();
    return this;
  }

  /** Runs until stopped (or, with exitWhenIdle, until there is no more work). */
  run(): Promise<WorkerSummary> {
    return this.start().done;
  }

  /**
   * Graceful stop: no more claims; running tasks may finish until Worker:ShutdownTimeout (or
   * `timeoutMs`), then they are aborted and released, as are tasks that never started.
   * Calling it again can only shorten the deadline.
   */
  stop(reason: StopReason = 'stopped', opts: { timeoutMs?: number } = {}): Promise<WorkerSummary> {
    const until = Date.now() + (opts.timeoutMs ?? this.o.settings.ShutdownTimeout);
    if (!this.stopping) {
      this.stopping = true;
      this.stopReason = reason;
      this.log.info('stopping: no more claims; running tasks may finish', { reason, deadline: new Date(until).toISOString(), running: this.executing.size, waiting: this.waiting.length });
    }
    this.drainUntil = Math.min(this.drainUntil ?? Infinity, until, this.deadline !== undefined ? this.deadline - this.margin : Infinity);
    this.waker.notify();
    if (!this.started) this.start();
    return this.done;
  }

  /** Ids of the tasks this worker holds now. */
  currentTaskIds(): string[] {
    return [...new Set([...this.runs.values()].map((r) => r.task._id))];
  }

  private registration(): WorkerRegistration {
    return { id: this.id, host: this.identity.host, types: this.o.handlers.types(), concurrency: this.concurrency };
  }

  private async main(): Promise<void> {
    this.log.info('worker starting', { types: this.o.handlers.types(), concurrency: this.concurrency, batchSize: this.o.settings.BatchSize, ...(this.deadline ? { deadline: new Date(this.deadline).toISOString() } : {}) });
    if (this.o.registry) {
      await this.policy.execute(() => this.o.registry!.register(this.registration())).catch((e: unknown) => this.log.warn('could not register the worker (continuing)', { error: e }));
    }
    this.heartbeat.start();
    try {
      await this.loop();
    } catch (e) {
      this.log.error('run loop failed; draining', { error: e });
      this.stopping = true;
      this.stopReason = 'error';
    }
    await this.drain();
    await this.heartbeat.stop();
    if (this.o.registry) {
      await this.policy.execute(() => this.o.registry!.markStopped(this.id, this.takeProcessed())).catch((e: unknown) => this.log.warn('could not mark the worker stopped', { error: e }));
    }
    if (this.ownsIdentity) this.identity.release();
    activeIds.delete(this.id);
    const finishedAt = new Date();
    const summary: WorkerSummary = {
      workerId: this.id,
      startedAt: this.startedAt,
      finishedAt,
      durationMs: finishedAt.getTime() - this.startedAt.getTime(),
      stoppedBecause: this.stopReason,
      claimed: this.claimedCount,
      outcomes: { ...this.outcomes },
    };
    this.log.info('worker stopped', { ...summary });
    this.resolveDone(summary);
  }

  private async loop(): Promise<void> {
    const s = this.o.settings;
    while (!this.stopping) {
      if (this.deadline !== undefined && Date.now() >= this.deadline - this.margin) {
        this.stop('deadline');
        break;
      }
      this.fill();
      if (this.o.maxTasks !== undefined && this.claimedCount >= this.o.maxTasks) {
        if (this.runs.size === 0) {
          this.stop('max-tasks');
          break;
        }
        await this.waker.wait(this.untilDeadline(s.PollingInterval));
        continue;
      }
      if (!this.wantsClaim()) {
        await this.waker.wait(this.untilDeadline(s.PollingInterval));
        continue;
      }
      const types = this.claimsClosed ? [] : this.claimableTypes();
      if (types !== undefined && types.length === 0) {
        if (this.o.exitWhenIdle && this.runs.size === 0) {
          this.stop(this.deadline !== undefined ? 'deadline' : 'idle');
          break;
        }
        await this.waker.wait(this.untilDeadline(s.PollingInterval));
        continue;
      }
      let claimed: ClaimedTask[];
      try {
        claimed = await this.claim(types);
      } catch (e) {
        if (e instanceof DatabaseUnavailableError) {
          if (!this.paused) this.log.warn('pausing: database unavailable; will resume by itself', { error: e.message });
          this.paused = true;
          await this.waker.wait(this.untilDeadline(this.policy.pauseMs));
        } else {
          this.log.error('claim failed', { error: e });
          await this.waker.wait(this.untilDeadline(s.PollingInterval));
        }
        continue;
      }
      if (this.paused) this.log.info('resumed: database reachable again');
      this.paused = false;
      if (claimed.length > 0) {
        for (const c of claimed) this.hold(c);
        continue; // found work: poll again at once
      }
      if (this.o.exitWhenIdle && this.runs.size === 0) {
        this.stop('idle');
        break;
      }
      await this.waker.wait(this.untilDeadline(s.PollingInterval));
    }
  }

  /**
   * Whether to claim now. Single claims (BatchSize 1): nothing waits and a slot is free. Batch claims:
   * as soon as less than half a batch waits for a slot, so the next whole batch arrives while the slots
   * are still busy (its round trips overlap running tasks) instead of a claim of one or two tasks each
   * time a slot frees. A worker then holds at most Concurrency + 1.5 x BatchSize leases; waiting ones
   * are heartbeated like running ones and released on stop. Not on a deadline (a serverless
   * invocation): there a task is claimed only for a free slot, so none waits past the point where its
   * timeout still fits.
   */
  private wantsClaim(): boolean {
    const batch = this.o.settings.BatchSize;
    if (batch <= 1 || !this.claimsAhead) return this.waiting.length === 0 && this.executing.size < this.concurrency;
    return this.waiting.length < Math.ceil(Math.min(batch, this.concurrency) / 2);
  }

  private untilDeadline(ms: number): number {
    return this.deadline === undefined ? ms : Math.max(0, Math.min(ms, this.deadline - this.margin - Date.now()));
  }

  /** Handler types to claim now: all of them, or on a deadline only those whose timeout still fits (undefined: any type). */
  private claimableTypes(): string[] | undefined {
    const s = this.o.settings;
    if (this.deadline === undefined) return this.o.claimUnknownTypes ? undefined : this.o.handlers.types();
    return this.o.handlers.typesFitting(this.deadline - this.margin - Date.now(), s.TaskTimeout);
  }

  /**
   * One claim through the resilience policy. If a try failed after possibly applying (its reply lost),
   * tasks may be Assigned to us under a token we never saw; `adoptOrphans` finds them by worker id.
   */
  private async claim(types: string[] | undefined): Promise<ClaimedTask[]> {
    const s = this.o.settings;
    // Claiming ahead: a whole batch, run as slots free up (see wantsClaim); otherwise only for free slots.
    let limit = this.claimsAhead ? s.BatchSize : Math.min(s.BatchSize, this.concurrency - this.executing.size);
    if (this.o.maxTasks !== undefined) limit = Math.min(limit, this.o.maxTasks - this.claimedCount);
    let tries = 0;
    let claimed: ClaimedTask[];
    try {
      claimed = await this.policy.execute(() => {
        tries++;
        return this.o.store.claim(this.id, { limit, ...(types ? { types } : {}) });
      });
    } catch (e) {
      if (tries > 0) this.orphanCheckDue = true;
      throw e;
    }
    if (tries > 1) this.orphanCheckDue = true;
    if (this.orphanCheckDue) {
      try {
        claimed = [...claimed, ...(await this.adoptOrphans(claimed))];
        this.orphanCheckDue = false;
      } catch (e) {
        // What was claimed is still ours to run; the orphan check waits for the next claim.
        this.log.warn('could not check for orphaned claims (will retry)', { error: e });
      }
    }
    this.claimedCount += claimed.length;
    if (claimed.length) this.log.debug('claimed', { count: claimed.length, taskIds: claimed.map((c) => c.task._id) });
    return claimed;
  }

  /** Tasks Assigned to this worker id that it does not know: a claim whose reply was lost, or an earlier run of this (persisted) id. */
  private async adoptOrphans(justClaimed: readonly ClaimedTask[]): Promise<ClaimedTask[]> {
    const known = new Set([...this.runs.keys(), ...justClaimed.map((c) => runKey(c.lease))]);
    const page = await this.policy.execute(() => this.o.store.list({ workerId: this.id, status: [S.Assigned] }, { limit: 500 }));
    const orphans = page.tasks
      .filter((t) => t.owner?.workerId === this.id)
      .map((t): ClaimedTask => ({ task: t, lease: { taskId: t._id, leaseToken: t.owner!.leaseToken, workerId: this.id, attempt: t.attempts } }))
      .filter((c) => !known.has(runKey(c.lease)));
    if (orphans.length) this.log.info('adopted tasks assigned to this worker id but unknown to it', { taskIds: orphans.map((t) => t.task._id) });
    return orphans;
  }

  private hold(claimed: ClaimedTask): void {
    const run = new TaskRun(claimed, {
      handlers: this.o.handlers,
      store: this.o.store,
      policy: this.policy,
      keepTrying: () => this.hardStopAt === undefined || Date.now() < this.hardStopAt,
      logger: this.log,
      workerId: this.id,
      defaultTimeoutMs: this.o.settings.TaskTimeout,
      abortGraceMs: this.abortGraceMs,
      ...(this.deadline !== undefined ? { hardDeadline: this.deadline - this.margin } : {}),
    });
    if (this.deadline !== undefined) {
      // A task whose own timeout does not fit goes back (TaskRun releases it); claiming again would only get it back.
      const timeout = claimed.task.timeoutMs ?? this.o.handlers.timeoutOf(claimed.task.type, this.o.settings.TaskTimeout);
      if (Date.now() + timeout > this.deadline - this.margin) this.claimsClosed = true;
    }
    this.runs.set(runKey(claimed.lease), run);
    this.waiting.push(run);
    this.fill();
  }

  /** Gives slots to waiting runs. Aborted waiting runs (cancelled, lease lost) finish at once: they run no handler. */
  private fill(): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i]!.abortReason) this.launch(this.waiting.splice(i, 1)[0]!);
    }
    while (this.waiting.length > 0 && this.executing.size < this.concurrency && !this.stopping) this.launch(this.waiting.shift()!);
  }

  private launch(run: TaskRun): void {
    const id = run.task._id;
    const key = runKey(run.lease);
    const p = run
      .execute()
      .catch((e: unknown): TaskOutcome => {
        this.log.error('task run failed unexpectedly', { taskId: id, error: e });
        return { taskId: id, type: run.task.type, attempt: run.lease.attempt, workerId: this.id, lease: run.lease, outcome: 'abandoned', durationMs: 0, error: { message: String((e as Error)?.message ?? e), kind: 'Unexpected' } };
      })
      .then((outcome) => this.finished(outcome))
      .finally(() => {
        this.runs.delete(key);
        this.executing.delete(key);
        this.waker.notify();
      });
    this.executing.set(key, p);
  }

  private async finished(outcome: TaskOutcome): Promise<void> {
    this.outcomes[outcome.outcome]++;
    this.processedSinceBeat++;
    if (!this.o.hooks?.onTaskFinished) return;
    try {
      await this.o.hooks.onTaskFinished(outcome);
    } catch (e) {
      this.log.error('onTaskFinished hook failed', { taskId: outcome.taskId, error: e });
    }
  }

  private onLeaseLost(run: TaskRun): void {
    run.abort('lease-lost');
    if (run.phase === 'waiting') this.waker.notify();
  }

  /**
   * Stop: tasks that never started go back at once; running ones get until the drain deadline, then
   * are aborted and released. The last writes may wait out an outage until a hard stop shortly after.
   */
  private async drain(): Promise<void> {
    const until = this.drainUntil ?? Date.now() + this.o.settings.ShutdownTimeout;
    this.hardStopAt = this.deadline ?? until + this.abortGraceMs + Math.max(5_000, 2 * this.policy.pauseMs);
    for (const run of this.waiting.splice(0)) {
      run.abort('shutdown');
      this.launch(run);
    }
    const all = () => Promise.allSettled([...this.executing.values()]);
    if (this.executing.size > 0) {
      // Woken by each finished run and by stop() (a second signal shortens the deadline).
      while (this.executing.size > 0 && Date.now() < Math.min(until, this.drainUntil ?? until)) {
        await this.waker.wait(Math.min(until, this.drainUntil ?? until) - Date.now());
      }
      const left = [...this.runs.values()].filter((r) => r.phase !== 'finishing');
      if (left.length) this.log.info('shutdown deadline reached: releasing unfinished tasks', { taskIds: left.map((r) => r.task._id) });
      for (const run of left) run.abort('shutdown');
      // Runs that were already executing settle within the grace plus their last write; anything launched since, too.
      while (this.executing.size > 0) await all();
    }
  }

  private takeProcessed(): number {
    const n = this.processedSinceBeat;
    this.processedSinceBeat = 0;
    return n;
  }

  private async beatRegistry(): Promise<void> {
    if (!this.o.registry) return;
    const state: WorkerState = this.stopping ? 'draining' : this.runs.size > 0 ? 'busy' : 'idle';
    const delta = this.takeProcessed();
    try {
      await this.policy.execute(() => this.o.registry!.beat(this.registration(), { state, currentTaskIds: this.currentTaskIds(), processedDelta: delta }));
    } catch (e) {
      this.processedSinceBeat += delta;
      throw e;
    }
  }
}

function runKey(lease: Lease): string {
  return `${lease.taskId}/${lease.leaseToken}`;
}

export function createWorker(options: WorkerOptions): Worker {
  return new Worker(options);
}
