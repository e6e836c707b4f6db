import type { AppConfig } from '../config/load.js';
import type { StorePolicy, ResilienceOptions } from '../db/resilience.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Logger } from '../log/logger.js';
import type { TaskStore } from '../store/task-store.js';
import type { WakeSource } from '../wake/wake-up.js';
import type { WorkerRegistry } from '../worker-registry/registry.js';
import type { WorkerIdentity } from './identity.js';
import type { OutcomeKind, TaskOutcome } from './outcome.js';

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
  /**
   * Wake-ups (lib/wake): an idle worker claims as soon as one says work became claimable, instead of at
   * its next poll. Hints only: the worker still polls (backing off to PollingInterval while idle).
   */
  wake?: WakeSource;
  /** A serverless invocation's deadline: nothing is claimed that cannot finish before it. */
  deadline?: Date | number;
  /** Kept free before the deadline for the last writes (default: 10% of the budget, 1-5 s). */
  deadlineMarginMs?: number;
  /** Stop once a poll finds no work and nothing runs (one worker invocation). */
  exitWhenIdle?: boolean;
  /**
   * With exitWhenIdle: stay this long idle, listening for wake-ups, before stopping (default 0). A host
   * that starts an invocation per wake-up keeps one warm through a steady stream of work.
   */
  idleLingerMs?: number;
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
