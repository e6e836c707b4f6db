import { setTimeout as sleep } from 'node:timers/promises';
import { SpanStatusCode } from '@opentelemetry/api';
import { BSON, MongoServerError } from 'mongodb';
import type { Logger } from '../log/logger.js';
import { WriteRefusedError } from '../store/errors.js';
import { newWriteId } from '../store/ids.js';
import type { ClaimedTask, FailResult, Lease, TaskStore } from '../store/task-store.js';
import type { Task } from '../tasks/model.js';
import { JobTaskStatus as S } from '../tasks/status.js';
import { DatabaseUnavailableError, type StorePolicy } from '../db/resilience.js';
import { NonRetryableError } from '../handlers/errors.js';
import type { HandlerContext } from '../handlers/handler.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import { InvalidPayloadError, TaskTimeoutError, UnknownTaskTypeError } from './errors.js';
import type { OutcomeDetail, TaskOutcome } from './outcome.js';
import { spanAttributes, withTaskSpan } from '../telemetry/tracing.js';

/** Why a run was aborted; also the `signal.reason` a handler sees (as an AbortError-like TaskAbortedError). */
export type AbortReason = 'cancel' | 'timeout' | 'lease-lost' | 'shutdown';

export class TaskAbortedError extends Error {
  constructor(
    readonly reason: AbortReason,
    taskId: string,
  ) {
    super(`task ${taskId} aborted: ${reason}`);
    this.name = 'AbortError';
  }
}

export interface TaskRunDeps {
  handlers: HandlerRegistry;
  store: TaskStore;
  /** Every store call goes through it (quick retries of transient errors; DatabaseUnavailableError when down). */
  policy: StorePolicy;
  /**
   * Whether a lease write keeps waiting while the database is unavailable. A worker's outcome must not be
   * lost to an outage, so writes wait it out; only a stopping worker past its deadline gives up (the task
   * stays leased and the reclaimer retries it).
   */
  keepTrying(): boolean;
  logger: Logger;
  workerId: string;
  defaultTimeoutMs: number;
  /** After an abort, how long the handler may take to wind down before the worker moves on without it. */
  abortGraceMs: number;
  /** Worker:HeartbeatTimeout: a timed-out handler that has not settled may run this long yet (its retry waits). */
  heartbeatTimeoutMs: number;
  /** When the worker stops for good (set once it drains): a handler that ignores a shutdown abort is waited for until then. */
  hardStopAt(): number | undefined;
  /** No run may go past this (a serverless invocation's deadline minus its margin). */
  hardDeadline?: number;
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * One claimed task, from validation to its recorded outcome. The worker's heartbeat calls abort()
 * (cancel requested, lease lost) and progress is read from here when it beats.
 */
export class TaskRun {
  readonly task: Task;
  readonly lease: Lease;
  /** 'running' while the handler runs: only then do heartbeat results abort it. */
  phase: 'waiting' | 'starting' | 'running' | 'finishing' = 'waiting';
  /**
   * Called once, when the handler has settled and only the outcome's write is left: the run's slot can go to
   * the next run while that write is on its way (the run keeps its lease and heartbeats until it lands).
   */
  onHandlerSettled: (() => void) | undefined;
  progress: unknown = undefined;
  progressSeq = 0;
  sentProgressSeq = 0;
  private readonly controller = new AbortController();
  private readonly log: Logger;

  constructor(
    claimed: ClaimedTask,
    private readonly deps: TaskRunDeps,
  ) {
    this.task = claimed.task;
    this.lease = claimed.lease;
    this.log = deps.logger.child({ taskId: this.task._id, type: this.task.type, attempt: this.lease.attempt });
    // A cancel requested before the claim: the task is cancelled, its handler never started.
    if (this.task.cancelRequested) this.abort('cancel');
  }

  get abortReason(): AbortReason | undefined {
    return this.controller.signal.aborted ? (this.controller.signal.reason as TaskAbortedError).reason : undefined;
  }

  abort(reason: AbortReason): void {
    if (this.controller.signal.aborted) return;
    this.log.info('aborting task', { reason });
    this.controller.abort(new TaskAbortedError(reason, this.task._id));
  }

  /**
   * Runs the attempt inside its processing span ('task.process', linked to the task's ingest span), so
   * the handler's own spans and log lines belong to it; the span carries the outcome.
   */
  execute(): Promise<TaskOutcome> {
    const task = { ...this.task, attempts: this.lease.attempt };
    return withTaskSpan(
      'task.process',
      task,
      async (span) => {
        const outcome = await this.executeInSpan();
        span.setAttribute(spanAttributes.outcome, outcome.outcome);
        if (outcome.error) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message.slice(0, 200) });
        return outcome;
      },
      { [spanAttributes.workerId]: this.deps.workerId },
    );
  }

  private async executeInSpan(): Promise<TaskOutcome> {
    const startedAt = Date.now();
    const done = (o: OutcomeDetail): TaskOutcome => ({
      taskId: this.task._id,
      type: this.task.type,
      attempt: this.lease.attempt,
      workerId: this.deps.workerId,
      lease: this.lease,
      durationMs: Date.now() - startedAt,
      ...o,
    });
    try {
      return done(await this.run());
    } catch (e) {
      if (e instanceof DatabaseUnavailableError) {
        this.log.warn(
          'outcome not recorded: database unavailable until the worker stopped; the reclaimer will retry the task',
          { error: e.message },
        );
        return done({ outcome: 'abandoned', error: { message: e.message, kind: e.name } });
      }
      throw e;
    }
  }

  private async run(): Promise<OutcomeDetail> {
    const { handlers, store, workerId } = this.deps;
    const task = this.task;
    const handler = handlers.get(task.type);
    if (!handler) return this.reject(new UnknownTaskTypeError(task.type, task._id, workerId, handlers.types()));
    const parsed = handler.schema.safeParse(task.payload);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`)
        .join('; ');
      return this.reject(new InvalidPayloadError(task.type, task._id, workerId, issues));
    }
    // A cancel or lost lease noticed while the task waited for a slot.
    if (this.controller.signal.aborted) return this.finishAborted(undefined, handler.maxRetries, 0);

    const timeoutMs = task.timeoutMs ?? handler.timeoutMs ?? this.deps.defaultTimeoutMs;
    if (this.deps.hardDeadline !== undefined && Date.now() + timeoutMs > this.deps.hardDeadline) {
      // Claimed by type, but this task's own timeout does not fit: give it back untouched.
      return this.release('does not fit before the invocation deadline', 'deadline');
    }

    this.phase = 'starting';
    const limit = handler.maxRetries !== undefined ? { maxRetries: handler.maxRetries } : {};
    const started = await this.persist('start', (o) => store.start(this.lease, { ...limit, ...o }));
    if (!started.owned) return { outcome: 'lease-lost' };
    if (this.controller.signal.aborted) return this.finishAborted(undefined, handler.maxRetries, timeoutMs);

    this.phase = 'running';
    const signal = this.controller.signal;
    const timer = setTimeout(() => this.abort('timeout'), timeoutMs);
    const logger = this.log.child({ workerId });
    const ctx: HandlerContext = {
      taskId: task._id,
      workerId,
      type: task.type,
      attempt: this.lease.attempt,
      signal,
      logger,
      log: logger,
      deadline: new Date(Date.now() + timeoutMs),
      progress: (value) => {
        this.progress = value;
        this.progressSeq++;
      },
    };
    // The executor seam: inline, or in an isolated thread/process (lib/handlers/isolation) that an abort terminates.
    // A handler that throws synchronously is still a settled failure, never an escape.
    const executor = handlers.executorFor(task.type);
    const settled: Promise<Settled> = Promise.resolve()
      .then(() => executor.run(handler, parsed.data, ctx))
      .then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    const aborted = new Promise<null>((resolve) => {
      if (signal.aborted) resolve(null);
      else signal.addEventListener('abort', () => resolve(null), { once: true });
    });
    let outcome = await Promise.race([settled, aborted]);
    clearTimeout(timer);
    if (outcome === null || signal.aborted) {
      // Give a cooperative handler time to wind down; one that ignores the signal is left behind.
      if (outcome === null)
        outcome = await Promise.race([settled, sleep(this.deps.abortGraceMs, null, { ref: false })]);
      if (outcome === null && this.abortReason === 'shutdown') outcome = await this.outwait(settled);
      if (outcome === null) {
        if (this.abortReason === 'shutdown') return this.abandon();
        this.log.warn('handler ignored the abort; moving on without it', {
          reason: this.abortReason,
          graceMs: this.deps.abortGraceMs,
        });
      }
      this.finishing();
      return this.finishAborted(outcome ?? undefined, handler.maxRetries, timeoutMs, outcome !== null);
    }
    this.finishing();
    if (outcome.ok) return this.complete(outcome.value);
    return this.fail(outcome.error, handler.maxRetries);
  }

  private finishing(): void {
    this.phase = 'finishing';
    const settled = this.onHandlerSettled;
    this.onHandlerSettled = undefined;
    settled?.();
  }

  /**
   * A handler that ignored the shutdown abort may still be doing the work, so its task is not given back:
   * the run keeps its lease (phase 'running', so heartbeats go on) until the handler settles or the worker's
   * hard stop. Null: it did not settle.
   */
  private async outwait(settled: Promise<Settled>): Promise<Settled | null> {
    this.log.warn('handler ignored the shutdown abort; keeping its lease until it settles', {
      graceMs: this.deps.abortGraceMs,
    });
    const hardStopAt = this.deps.hardStopAt();
    if (hardStopAt === undefined) return settled;
    return Promise.race([settled, sleep(Math.max(0, hardStopAt - Date.now()), null, { ref: false })]);
  }

  /** Still running at the hard stop: the task stays leased; once the process is gone the reclaimer retries it. */
  private abandon(): OutcomeDetail {
    const message = 'handler still running at the hard stop; the task is left to the reclaimer';
    this.log.warn(message);
    return { outcome: 'abandoned', error: { message, kind: 'HandlerNotSettled' } };
  }

  private async complete(value: unknown): Promise<OutcomeDetail> {
    try {
      const res = await this.persist('complete', (o) => this.deps.store.complete(this.lease, value, o));
      if (!res.owned) {
        this.log.warn('lease lost before the result was saved; result dropped');
        return { outcome: 'lease-lost' };
      }
      this.log.info('task succeeded');
      return { outcome: 'succeeded', result: value };
    } catch (e) {
      // Only a definite refusal of the result itself (not BSON-serialisable, too large) fails the task; the
      // same run would fail the same way. Anything else leaves the task leased (the reclaimer retries it).
      if (!(e instanceof BSON.BSONError || e instanceof MongoServerError || e instanceof WriteRefusedError)) throw e;
      const err = new NonRetryableError(`handler result could not be stored: ${(e as Error).message}`, { cause: e });
      err.name = 'ResultNotStorable';
      return this.fail(err, undefined);
    }
  }

  private async fail(error: unknown, maxRetries: number | undefined): Promise<OutcomeDetail> {
    const failure = toFailure(error);
    const retryable = !(error instanceof NonRetryableError);
    const limit = maxRetries !== undefined ? { maxRetries } : {};
    const res = await this.persist('fail', (o) =>
      this.deps.store.fail(this.lease, failure, { retryable, ...limit, ...o }),
    );
    return this.failureOutcome(res, failure, 'failed');
  }

  private async reject(error: UnknownTaskTypeError | InvalidPayloadError): Promise<OutcomeDetail> {
    this.log.warn('task rejected', { error: error.message, kind: error.name });
    const failure = { message: error.message, kind: error.name, ...(error.stack ? { stack: error.stack } : {}) };
    const res = await this.persist('fail', (o) =>
      this.deps.store.fail(this.lease, failure, { retryable: false, ...o }),
    );
    if (!res.owned) return { outcome: 'lease-lost' };
    return { outcome: 'rejected', error: { message: failure.message, kind: failure.kind } };
  }

  private async release(why: string, because: 'shutdown' | 'deadline'): Promise<OutcomeDetail> {
    const res = await this.persist('release', (o) => this.deps.store.release(this.lease, why, o));
    if (!res.owned) return { outcome: 'lease-lost' };
    if (res.status === S.Cancelled) {
      this.log.info('task cancelled (a cancel was requested) instead of released', { why });
      return { outcome: 'cancelled' };
    }
    this.log.info('task released', { why });
    return { outcome: 'released', releasedBecause: because };
  }

  private async finishAborted(
    settled: Settled | undefined,
    maxRetries: number | undefined,
    timeoutMs: number,
    handlerSettled = true,
  ): Promise<OutcomeDetail> {
    const reason = this.abortReason ?? 'shutdown';
    switch (reason) {
      case 'lease-lost':
        this.log.warn('lease lost (reclaimed or taken over); result dropped');
        return { outcome: 'lease-lost' };
      case 'cancel': {
        const res = await this.persist('cancelled', (o) =>
          this.deps.store.cancelled(this.lease, 'cancel requested', o),
        );
        if (res.owned) this.log.info('task cancelled');
        return { outcome: res.owned ? 'cancelled' : 'lease-lost' };
      }
      case 'timeout': {
        const err = new TaskTimeoutError(this.task._id, this.deps.workerId, timeoutMs);
        const failure = { message: err.message, kind: 'Timeout' };
        const limit = maxRetries !== undefined ? { maxRetries } : {};
        // A handler still running may go on until its process stops heartbeating: its retry is not due before.
        const wait = handlerSettled ? {} : { minDelayMs: this.deps.heartbeatTimeoutMs };
        const res = await this.persist('timedOut', (o) =>
          this.deps.store.timedOut(this.lease, failure, { ...limit, ...wait, ...o }),
        );
        return this.failureOutcome(res, failure, 'timed-out');
      }
      case 'shutdown':
        // Work that did finish during the grace is kept; anything else goes back without counting the attempt.
        if (settled?.ok && this.phase === 'finishing') return this.complete(settled.value);
        return this.release('worker shutting down', 'shutdown');
    }
  }

  /**
   * One logical lease write, tried until it is answered: through the worker's policy (quick retries of
   * transient errors) and, while the database is unavailable, again after a pause for as long as the
   * worker may wait. Every try carries the same write id, so a try that finds an earlier one applied
   * (its reply was lost) is still answered owned.
   */
  private async persist<R>(op: string, write: (opts: { writeId: string }) => Promise<R>): Promise<R> {
    const opts = { writeId: newWriteId() };
    for (let pauses = 0; ; pauses++) {
      try {
        return await this.deps.policy.execute(() => write(opts));
      } catch (e) {
        if (!(e instanceof DatabaseUnavailableError) || !this.deps.keepTrying()) throw e;
        if (pauses % 10 === 0) this.log.warn('database unavailable; the write waits for it', { op, error: e.message });
        await sleep(this.deps.policy.pauseMs);
      }
    }
  }

  private failureOutcome(
    res: FailResult,
    failure: { message: string; kind: string },
    terminal: 'failed' | 'timed-out',
  ) {
    if (!res.owned) return { outcome: 'lease-lost' as const };
    if (res.status === S.Cancelled) {
      this.log.info('task cancelled (a cancel was requested) as its attempt ended', { error: failure.message });
      return { outcome: 'cancelled' as const, error: failure };
    }
    const retrying = res.status === S.Retrying;
    this.log.info(
      retrying ? 'attempt failed; retry scheduled' : `task ${terminal === 'failed' ? 'failed' : 'timed out'} for good`,
      {
        error: failure.message,
        kind: failure.kind,
        ...(res.nextAttemptAt ? { nextAttemptAt: res.nextAttemptAt.toISOString() } : {}),
      },
    );
    return {
      outcome: retrying ? ('retrying' as const) : terminal,
      error: failure,
      ...(res.nextAttemptAt ? { nextAttemptAt: res.nextAttemptAt } : {}),
    };
  }
}

function toFailure(error: unknown): { message: string; kind: string; stack?: string } {
  if (error instanceof Error)
    return {
      message: error.message || error.name,
      kind: error.name || 'Error',
      ...(error.stack ? { stack: error.stack } : {}),
    };
  return { message: typeof error === 'string' ? error : safeJson(error), kind: 'Thrown' };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
