import { createStorePolicy, DatabaseUnavailableError, type StorePolicy } from '../db/resilience.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { ClaimedTask } from '../store/task-store.js';
import type { WorkerState } from '../worker-registry/model.js';
import type { WorkerRegistration } from '../worker-registry/registry.js';
import { ClaimPolicy, firstIdleDelay, type HeldRuns } from './claim-policy.js';
import { Claimer } from './claimer.js';
import { Heartbeat } from './heartbeat.js';
import { resolveWorkerIdentity, type WorkerIdentity } from './identity.js';
import { outcomeKinds, type OutcomeKind, type TaskOutcome } from './outcome.js';
import { TaskRun } from './task-run.js';
import { TaskSlots } from './task-slots.js';
import { WakeSignal } from './wake-signal.js';
import { releaseWorkerId, reserveWorkerId } from './worker-ids.js';
import type { StopReason, WorkerOptions, WorkerSummary } from './worker-options.js';

const HINT_RECHECK_MS = 25;

/**
 * A worker: polls for tasks of the types it has handlers for, runs them under a concurrency limit,
 * heartbeats their leases, records each outcome through the fenced store writes, and drains on stop.
 * The same class runs a long-lived process (run until stop()) and one serverless invocation
 * (exitWhenIdle + deadline; see runWorkerInvocation).
 */
export class Worker {
  readonly id: string;
  readonly identity: WorkerIdentity;
  readonly done: Promise<WorkerSummary>;

  private readonly o: WorkerOptions;
  private readonly log: Logger;
  private readonly policy: StorePolicy;
  private readonly heartbeat: Heartbeat;
  private readonly claims: ClaimPolicy;
  private readonly claimer: Claimer;
  private readonly slots: TaskSlots;
  private readonly wakeSignal = new WakeSignal();
  private readonly ownsIdentity: boolean;
  private readonly concurrency: number;
  private readonly deadline: number | undefined;
  private readonly margin: number;
  private readonly abortGraceMs: number;

  private started = false;
  private stopping = false;
  private stopReason: StopReason = 'stopped';
  private drainUntil: number | undefined;
  private hardStopAt: number | undefined;
  private processedSinceBeat = 0;
  private paused = false;
  /** The next idle pause: doubles after each empty claim up to PollingInterval, reset by work found. */
  private idleDelay: number;
  /**
   * Since when the last claims found the queue dry (unset while they return full batches): wake-ups are
   * wanted then; with exitWhenIdle the worker stops after idleLingerMs of it with nothing held.
   */
  private idleSince: number | undefined;
  /** When the run loop last turned (a claim or a wait): the liveness probe's sign of life. */
  private loopTurnedAt = Date.now();
  private readonly outcomes = Object.fromEntries(outcomeKinds.map((k) => [k, 0])) as Record<OutcomeKind, number>;
  private readonly startedAt = new Date();
  private resolveDone!: (s: WorkerSummary) => void;

  constructor(options: WorkerOptions) {
    this.o = options;
    this.ownsIdentity = !options.identity;
    this.identity =
      options.identity ??
      resolveWorkerIdentity({
        ...(options.settings.StateDirectory ? { stateDirectory: options.settings.StateDirectory } : {}),
      });
    this.id = reserveWorkerId(this.identity.id);
    this.log = (options.logger ?? silentLogger).child({ workerId: this.id });
    this.policy = options.policy ?? createStorePolicy(this.log, options.resilience);
    this.concurrency = options.settings.Concurrency ?? options.settings.BatchSize;
    this.deadline = options.deadline === undefined ? undefined : new Date(options.deadline).getTime();
    const budget = this.deadline === undefined ? 0 : this.deadline - Date.now();
    this.margin = options.deadlineMarginMs ?? Math.min(5_000, Math.max(1_000, Math.floor(budget * 0.1)));
    this.abortGraceMs = options.abortGraceMs ?? 2_000;
    this.idleDelay = firstIdleDelay(this.o.settings.PollingInterval);
    this.claims = new ClaimPolicy({
      settings: options.settings,
      handlers: options.handlers,
      concurrency: this.concurrency,
      ...(this.deadline !== undefined ? { cutoff: this.deadline - this.margin } : {}),
      ...(options.maxTasks !== undefined ? { maxTasks: options.maxTasks } : {}),
      ...(options.claimUnknownTypes ? { claimUnknownTypes: true } : {}),
    });
    this.claimer = new Claimer({ store: options.store, policy: this.policy, workerId: this.id, logger: this.log });
    this.slots = new TaskSlots({
      concurrency: this.concurrency,
      workerId: this.id,
      logger: this.log,
      onOutcome: (outcome) => this.finished(outcome),
      onSettled: () => this.wakeSignal.notify(),
    });
    this.heartbeat = new Heartbeat({
      store: options.store,
      policy: this.policy,
      logger: this.log,
      intervalMs: options.settings.HeartbeatInterval,
      target: {
        runs: () => this.slots.all(),
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
   * `timeoutMs`), then they are aborted and released, as are tasks that never started. A handler that
   * ignores the abort keeps its task (and heartbeats) until it settles or the hard stop shortly after.
   * Calling it again can only shorten the deadline.
   */
  stop(reason: StopReason = 'stopped', opts: { timeoutMs?: number } = {}): Promise<WorkerSummary> {
    const until = Date.now() + (opts.timeoutMs ?? this.o.settings.ShutdownTimeout);
    if (!this.stopping) {
      this.stopping = true;
      this.stopReason = reason;
      this.log.info('stopping: no more claims; running tasks may finish', {
        reason,
        deadline: new Date(until).toISOString(),
        running: this.slots.executingCount,
        waiting: this.slots.waitingCount,
      });
    }
    this.drainUntil = Math.min(
      this.drainUntil ?? Infinity,
      until,
      this.deadline !== undefined ? this.deadline - this.margin : Infinity,
    );
    this.wakeSignal.notify();
    if (!this.started) this.start();
    return this.done;
  }

  /** For the probes: what the worker does now, when its run loop last turned, its outage pause. */
  activity(): { state: 'starting' | 'running' | 'paused' | 'stopping'; loopTurnedAt: number; pauseMs: number } {
    const state = !this.started ? 'starting' : this.stopping ? 'stopping' : this.paused ? 'paused' : 'running';
    return { state, loopTurnedAt: this.loopTurnedAt, pauseMs: this.policy.pauseMs };
  }

  /** Ids of the tasks this worker holds now. */
  currentTaskIds(): string[] {
    return this.slots.taskIds();
  }

  private registration(): WorkerRegistration {
    return { id: this.id, host: this.identity.host, types: this.o.handlers.types(), concurrency: this.concurrency };
  }

  private async main(): Promise<void> {
    this.log.info('worker starting', {
      types: this.o.handlers.types(),
      concurrency: this.concurrency,
      batchSize: this.o.settings.BatchSize,
      ...(this.deadline ? { deadline: new Date(this.deadline).toISOString() } : {}),
    });
    if (this.o.registry) {
      await this.policy
        .execute(() => this.o.registry!.register(this.registration()))
        .catch((e: unknown) => this.log.warn('could not register the worker (continuing)', { error: e }));
    }
    this.heartbeat.start();
    // A wake-up ends the idle pause at once. While the worker finds full batches, or every slot is busy,
    // nobody needs to listen (a channel that asks the database skips its reads).
    const wanted = () => !this.stopping && this.idleSince !== undefined && this.claims.wantsClaim(this.held());
    const unsubscribe = this.o.wake?.subscribe((w) => this.wakeSignal.notify(w.count), { wanted });
    try {
      await this.loop();
    } catch (e) {
      this.log.error('run loop failed; draining', { error: e });
      this.stopping = true;
      this.stopReason = 'error';
    } finally {
      unsubscribe?.();
    }
    await this.drain();
    await this.heartbeat.stop();
    if (this.o.registry) {
      await this.policy
        .execute(() => this.o.registry!.markStopped(this.id, this.takeProcessed()))
        .catch((e: unknown) => this.log.warn('could not mark the worker stopped', { error: e }));
    }
    if (this.ownsIdentity) this.identity.release();
    releaseWorkerId(this.id);
    const finishedAt = new Date();
    const summary: WorkerSummary = {
      workerId: this.id,
      startedAt: this.startedAt,
      finishedAt,
      durationMs: finishedAt.getTime() - this.startedAt.getTime(),
      stoppedBecause: this.stopReason,
      claimed: this.claimer.count,
      outcomes: { ...this.outcomes },
    };
    this.log.info('worker stopped', { ...summary });
    this.resolveDone(summary);
  }

  private held(): HeldRuns {
    return { waiting: this.slots.waitingCount, executing: this.slots.executingCount, claimed: this.claimer.count };
  }

  private async loop(): Promise<void> {
    const s = this.o.settings;
    while (!this.stopping) {
      this.loopTurnedAt = Date.now();
      if (this.deadline !== undefined && Date.now() >= this.deadline - this.margin) {
        this.stop('deadline');
        break;
      }
      this.slots.fill(!this.stopping);
      if (this.claims.exhausted(this.held())) {
        if (this.slots.held === 0) {
          this.stop('max-tasks');
          break;
        }
        await this.wakeSignal.wait(this.untilDeadline(s.PollingInterval));
        continue;
      }
      if (!this.claims.wantsClaim(this.held())) {
        await this.wakeSignal.wait(this.untilDeadline(s.PollingInterval));
        continue;
      }
      const types = this.claims.types();
      if (types !== undefined && types.length === 0) {
        if (this.o.exitWhenIdle && this.slots.held === 0) {
          this.stop(this.deadline !== undefined ? 'deadline' : 'idle');
          break;
        }
        await this.wakeSignal.wait(this.untilDeadline(s.PollingInterval));
        continue;
      }
      // Woken while idle: ask for what the wake-ups announced (one task: one findOneAndUpdate, not a batch
      // claim's three round trips). A hint: a claim that fills it is a full batch, so the worker claims
      // again at once with the whole limit; one that finds nothing looks once more shortly (a due time
      // on another clock, or a timer a millisecond early, must not cost a PollingInterval).
      const hinted = this.wakeSignal.takeHinted();
      const woken = hinted > 0;
      let limit = this.claims.limit(this.held());
      if (this.idleSince !== undefined && woken) limit = Math.min(limit, hinted);
      let claimed: ClaimedTask[];
      try {
        claimed = await this.claimer.claim(limit, types, () => this.slots.keys());
      } catch (e) {
        if (e instanceof DatabaseUnavailableError) {
          if (!this.paused) this.log.warn('pausing: database unavailable; will resume by itself', { error: e.message });
          this.paused = true;
          await this.wakeSignal.wait(this.untilDeadline(this.policy.pauseMs));
        } else {
          this.log.error('claim failed', { error: e });
          await this.wakeSignal.wait(this.untilDeadline(s.PollingInterval));
        }
        continue;
      }
      if (this.paused) this.log.info('resumed: database reachable again');
      this.paused = false;
      if (claimed.length > 0) {
        for (const c of claimed) this.hold(c);
        this.idleDelay = firstIdleDelay(this.o.settings.PollingInterval);
        if (claimed.length >= limit) {
          this.idleSince = undefined;
          continue; // a full batch: there may be more, claim again at once
        }
        this.idleSince = Date.now(); // the queue ran dry: listen for wake-ups
        await this.wakeSignal.wait(this.untilDeadline(this.idleDelay));
        continue;
      }
      this.idleSince ??= Date.now();
      if (woken) {
        await this.wakeSignal.wait(this.untilDeadline(HINT_RECHECK_MS));
        continue;
      }
      if (this.o.exitWhenIdle && this.slots.held === 0) {
        const linger = this.idleSince + (this.o.idleLingerMs ?? 0) - Date.now();
        if (linger <= 0) {
          this.stop('idle');
          break;
        }
        await this.wakeSignal.wait(this.untilDeadline(Math.min(linger, this.idleDelay)));
        this.idleDelay = Math.min(s.PollingInterval, this.idleDelay * 2);
        continue;
      }
      await this.wakeSignal.wait(this.untilDeadline(this.idleDelay));
      this.idleDelay = Math.min(s.PollingInterval, this.idleDelay * 2);
    }
  }

  private untilDeadline(ms: number): number {
    return this.deadline === undefined ? ms : Math.max(0, Math.min(ms, this.deadline - this.margin - Date.now()));
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
      heartbeatTimeoutMs: this.o.settings.HeartbeatTimeout,
      hardStopAt: () => this.hardStopAt,
      ...(this.deadline !== undefined ? { hardDeadline: this.deadline - this.margin } : {}),
    });
    this.claims.claimed(claimed.task);
    this.slots.hold(run);
    this.slots.fill(!this.stopping);
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
    if (run.phase === 'waiting') this.wakeSignal.notify();
  }

  /**
   * Stop: tasks that never started go back at once; running ones get until the drain deadline, then
   * are aborted and released. The last writes may wait out an outage until a hard stop shortly after.
   */
  private async drain(): Promise<void> {
    const until = this.drainUntil ?? Date.now() + this.o.settings.ShutdownTimeout;
    this.hardStopAt = this.deadline ?? until + this.abortGraceMs + Math.max(5_000, 2 * this.policy.pauseMs);
    this.slots.releaseWaiting();
    if (this.slots.activeCount > 0) {
      // Woken by each finished run and by stop() (a second signal shortens the deadline).
      while (this.slots.activeCount > 0 && Date.now() < Math.min(until, this.drainUntil ?? until)) {
        await this.wakeSignal.wait(Math.min(until, this.drainUntil ?? until) - Date.now());
      }
      const left = [...this.slots.all()].filter((r) => r.phase !== 'finishing');
      if (left.length)
        this.log.info('shutdown deadline reached: releasing unfinished tasks', {
          taskIds: left.map((r) => r.task._id),
        });
      for (const run of left) run.abort('shutdown');
      // Runs that were already executing settle within the grace plus their last write; anything launched since, too.
      while (this.slots.activeCount > 0) await this.slots.settled();
    }
  }

  private takeProcessed(): number {
    const n = this.processedSinceBeat;
    this.processedSinceBeat = 0;
    return n;
  }

  private async beatRegistry(): Promise<void> {
    if (!this.o.registry) return;
    const state: WorkerState = this.stopping ? 'draining' : this.slots.held > 0 ? 'busy' : 'idle';
    const delta = this.takeProcessed();
    try {
      await this.policy.execute(() =>
        this.o.registry!.beat(this.registration(), {
          state,
          currentTaskIds: this.currentTaskIds(),
          processedDelta: delta,
        }),
      );
    } catch (e) {
      this.processedSinceBeat += delta;
      throw e;
    }
  }
}

export function createWorker(options: WorkerOptions): Worker {
  return new Worker(options);
}
