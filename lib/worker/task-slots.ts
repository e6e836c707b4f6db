import { errorMessage } from '../errors/message.js';
import type { Logger } from '../log/logger.js';
import { leaseKey, type Lease } from '../store/task-store.js';
import type { TaskOutcome } from './outcome.js';
import type { TaskRun } from './task-run.js';

/** A run's key: its task id and lease token. */
export function runKey(lease: Lease): string {
  return leaseKey(lease);
}

export interface TaskSlotsOptions {
  concurrency: number;
  workerId: string;
  logger: Logger;
  /** Each run's outcome, once recorded. */
  onOutcome(outcome: TaskOutcome): Promise<void>;
  /** A run left its slot. */
  onSettled(): void;
}

/**
 * The runs a worker holds and the slots (Concurrency) their handlers run in. Every run holding a lease is kept
 * by task id and lease token: a task that failed may be claimed again (its retry due at once) while the
 * first run is still recording its outcome, so a task id alone is not a key. `waiting` runs have no
 * slot yet, `executing` ones do (starting, running), `finishing` ones gave theirs up when their handler
 * settled and are writing the outcome: the next run's start goes out with that write instead of after it.
 * At most Concurrency handlers run, and at most 2 x Concurrency runs are active (running or writing), so a
 * slow database holds back new handlers rather than piling up writes.
 */
export class TaskSlots {
  private readonly runs = new Map<string, TaskRun>();
  private readonly waiting: TaskRun[] = [];
  private readonly executing = new Map<string, Promise<void>>();
  private readonly finishing = new Map<string, Promise<void>>();

  constructor(private readonly o: TaskSlotsOptions) {}

  /** Runs holding a lease. */
  get held(): number {
    return this.runs.size;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Runs in a handler slot (starting or running). */
  get executingCount(): number {
    return this.executing.size;
  }

  /** Runs in a slot or writing their outcome: what a drain waits for. */
  get activeCount(): number {
    return this.executing.size + this.finishing.size;
  }

  /** Every run holding a lease (waiting for a slot, starting, running, finishing). */
  all(): IterableIterator<TaskRun> {
    return this.runs.values();
  }

  keys(): IterableIterator<string> {
    return this.runs.keys();
  }

  /** Ids of the tasks held now. */
  taskIds(): string[] {
    return [...new Set([...this.runs.values()].map((r) => r.task._id))];
  }

  /** Holds a claimed run until a slot is free. */
  hold(run: TaskRun): void {
    this.runs.set(runKey(run.lease), run);
    this.waiting.push(run);
  }

  /**
   * Gives free slots to waiting runs (none when `open` is false: the worker is stopping). Aborted
   * waiting runs (cancelled, lease lost) finish at once: they run no handler.
   */
  fill(open: boolean): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      if (this.waiting[i]!.abortReason) this.launch(this.waiting.splice(i, 1)[0]!);
    }
    const c = this.o.concurrency;
    while (this.waiting.length > 0 && this.executing.size < c && this.activeCount < 2 * c && open)
      this.launch(this.waiting.shift()!);
  }

  /** On stop: runs that never got a slot are aborted, so they only give their task back. */
  releaseWaiting(): void {
    for (const run of this.waiting.splice(0)) {
      run.abort('shutdown');
      this.launch(run);
    }
  }

  /** Settles when every run now in a slot or finishing has. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.executing.values(), ...this.finishing.values()]);
  }

  private launch(run: TaskRun): void {
    const id = run.task._id;
    const key = runKey(run.lease);
    const p = run
      .execute()
      .catch((e: unknown): TaskOutcome => {
        this.o.logger.error('task run failed unexpectedly', { taskId: id, error: e });
        return {
          taskId: id,
          type: run.task.type,
          attempt: run.lease.attempt,
          workerId: this.o.workerId,
          lease: run.lease,
          outcome: 'abandoned',
          durationMs: 0,
          error: { message: errorMessage(e), kind: 'Unexpected' },
        };
      })
      .then((outcome) => this.o.onOutcome(outcome))
      .finally(() => {
        this.runs.delete(key);
        this.executing.delete(key);
        this.finishing.delete(key);
        this.o.onSettled();
      });
    run.onHandlerSettled = () => {
      if (!this.executing.delete(key)) return;
      this.finishing.set(key, p);
      this.o.onSettled();
    };
    this.executing.set(key, p);
  }
}
