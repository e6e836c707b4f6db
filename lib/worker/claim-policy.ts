import type { HandlerRegistry } from '../handlers/registry.js';
import type { Task } from '../tasks/model.js';
import type { WorkerSettings } from './worker-options.js';

export interface ClaimPolicyOptions {
  settings: Pick<WorkerSettings, 'BatchSize' | 'TaskTimeout'>;
  handlers: HandlerRegistry;
  concurrency: number;
  /** No run may go past this: a serverless invocation's deadline minus its margin (none for a long-lived worker). */
  cutoff?: number;
  /** Claim at most this many tasks in all. */
  maxTasks?: number;
  /** Claim tasks of any type (ignored under a cutoff: types must fit). */
  claimUnknownTypes?: boolean;
}

/** What the worker holds now. */
export interface HeldRuns {
  /** Runs claimed but without a slot yet. */
  waiting: number;
  /** Runs in a slot. */
  executing: number;
  /** Tasks claimed since the worker started. */
  claimed: number;
}

/** Handler types whose timeout fits in `remainingMs` (a serverless invocation never claims what it cannot finish). */
export function typesFitting(handlers: HandlerRegistry, remainingMs: number, defaultMs: number): string[] {
  return handlers.types().filter((t) => handlers.timeoutOf(t, defaultMs) <= remainingMs);
}

/** When the worker claims, how many tasks, and of which types. */
export class ClaimPolicy {
  /** Whether batch claims run one batch ahead of free slots (see wantsClaim). */
  readonly claimsAhead: boolean;
  /** A claimed task's own timeout did not fit before the cutoff: claiming again would only get it back. */
  private claimsClosed = false;

  constructor(private readonly o: ClaimPolicyOptions) {
    this.claimsAhead = o.settings.BatchSize > 1 && o.cutoff === undefined;
  }

  /** The worker has claimed all it may (maxTasks). */
  exhausted(held: HeldRuns): boolean {
    return this.o.maxTasks !== undefined && held.claimed >= this.o.maxTasks;
  }

  /**
   * Whether to claim now. Single claims (BatchSize 1): nothing waits and a slot is free. Batch claims:
   * as soon as less than half a batch waits for a slot, so the next whole batch arrives while the slots
   * are still busy (its round trips overlap running tasks) instead of a claim of one or two tasks each
   * time a slot frees. A worker then holds at most 2 x Concurrency + 1.5 x BatchSize leases (see TaskSlots); waiting ones
   * are heartbeated like running ones and released on stop. Not on a deadline (a serverless
   * invocation): there a task is claimed only for a free slot, so none waits past the point where its
   * timeout still fits.
   */
  wantsClaim(held: HeldRuns): boolean {
    const batch = this.o.settings.BatchSize;
    if (batch <= 1 || !this.claimsAhead) return held.waiting === 0 && held.executing < this.o.concurrency;
    return held.waiting < Math.ceil(Math.min(batch, this.o.concurrency) / 2);
  }

  /** How many tasks one claim asks for. */
  limit(held: HeldRuns): number {
    const s = this.o.settings;
    // Claiming ahead: a whole batch, run as slots free up (see wantsClaim); otherwise only for free slots.
    let limit = this.claimsAhead ? s.BatchSize : Math.min(s.BatchSize, this.o.concurrency - held.executing);
    if (this.o.maxTasks !== undefined) limit = Math.min(limit, this.o.maxTasks - held.claimed);
    return limit;
  }

  /**
   * Handler types to claim now: all of them, or under a cutoff only those whose timeout still fits
   * (undefined: any type; empty: none now).
   */
  types(): string[] | undefined {
    if (this.claimsClosed) return [];
    const s = this.o.settings;
    if (this.o.cutoff === undefined) return this.o.claimUnknownTypes ? undefined : this.o.handlers.types();
    return typesFitting(this.o.handlers, this.o.cutoff - Date.now(), s.TaskTimeout);
  }

  /** A task was claimed: one whose own timeout does not fit before the cutoff closes claims (TaskRun releases it). */
  claimed(task: Pick<Task, 'type' | 'timeoutMs'>): void {
    if (this.o.cutoff === undefined) return;
    const timeout = task.timeoutMs ?? this.o.handlers.timeoutOf(task.type, this.o.settings.TaskTimeout);
    if (Date.now() + timeout > this.o.cutoff) this.claimsClosed = true;
  }
}

/**
 * Adaptive polling: an idle worker polls after PollingInterval / 64, then backs off, doubling, to
 * PollingInterval. Wake-ups and freed slots end any pause at once.
 */
export function firstIdleDelay(pollingInterval: number): number {
  return Math.max(Math.min(10, pollingInterval), Math.floor(pollingInterval / 64));
}
