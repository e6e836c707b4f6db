/**
 * Sends tasks that ended Error or Timeout after their last attempt to the dead-letter queue
 * (DeadLetter:Queue). At least once, and once per run in the normal case: a conditional write claims
 * the task's dead letter, the claim's holder sends and marks it sent. The path that makes a task final
 * sends at once (the worker, through its onTaskFinished hook); each reclaimer pass sweeps up what a
 * crash or a queue outage left (the tasks the reclaimer itself timed out among them).
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors/message.js';
import { silentLogger, type Logger } from '../log/logger.js';
import type { QueueProvider } from '../queues/provider.js';
import type { TaskStore } from '../store/task-store.js';
import type { Task } from '../tasks/model.js';
import { JobTaskStatus as S } from '../tasks/status.js';
import { toTaskDeadLetter } from './envelope.js';
import { replayTaskDeadLetters, type TaskReplayResult } from './replay.js';

export interface TaskDeadLettersOptions {
  store: TaskStore;
  /** The dead-letter queue; built on first use (a host that never fails a task never connects). */
  queue: () => Promise<QueueProvider>;
  /** Its name (DeadLetter:Queue), recorded on the task. */
  queueName: string;
  /** DeadLetter:ClaimTimeout. */
  claimTimeoutMs: number;
  /** DeadLetter:SweepWindow. */
  sweepWindowMs: number;
  logger?: Logger;
}

export type SendOutcome = 'sent' | 'not-due' | 'failed';

export interface SweepResult {
  found: number;
  sent: number;
  failed: number;
}

const SWEEP_LIMIT = 500;
const HOOK_WAIT_MS = 5_000;
/** Worker outcomes (lib/worker/outcome.ts) that leave the task in Error or Timeout for good. */
const finalOutcomes = new Set(['failed', 'timed-out', 'rejected']);

/** The part of the worker's hooks (WorkerHooks) this uses; structural, so lib/worker need not be imported. */
export interface FinishedTaskHook {
  onTaskFinished?(outcome: { taskId: string; outcome: string }): void | Promise<void>;
}

export class TaskDeadLetters {
  private provider: Promise<QueueProvider> | undefined;
  private readonly log: Logger;

  constructor(private readonly o: TaskDeadLettersOptions) {
    this.log = (o.logger ?? silentLogger).child({ component: 'dead-letters', queue: o.queueName });
  }

  get queueName(): string {
    return this.o.queueName;
  }

  /** The dead-letter queue (created once, on first use; a failed build is tried again next time). */
  queue(): Promise<QueueProvider> {
    if (!this.provider) {
      this.provider = this.o.queue().then(async (q) => {
        // Created when missing (idempotent); a deployment whose identity may not manage entities has it from its template.
        await q
          .ensureQueues()
          .catch((e: unknown) =>
            this.log.warn('could not ensure the dead-letter queue exists', { error: errorMessage(e) }),
          );
        return q;
      });
      this.provider.catch(() => {
        this.provider = undefined;
      });
    }
    return this.provider;
  }

  /** Sends the task's dead letter if it ended Error/Timeout and no one sent it for this run. Never throws. */
  async send(task: Task): Promise<SendOutcome> {
    if (task.status !== S.Error && task.status !== S.Timeout) return 'not-due';
    const token = randomUUID();
    try {
      const claimed = await this.o.store.deadLetters.claim(
        task,
        { token, queue: this.o.queueName },
        { staleMs: this.o.claimTimeoutMs },
      );
      if (!claimed) return 'not-due';
      const q = await this.queue();
      const sent = await q.send({
        body: JSON.stringify(toTaskDeadLetter(claimed, new Date())),
        properties: { taskmeshTaskId: claimed._id, taskmeshStatus: claimed.status === S.Timeout ? 'Timeout' : 'Error' },
      });
      // Losing the claim here means another sender took it over after ClaimTimeout: both sent (at least once).
      await this.o.store.deadLetters.markSent(claimed._id, token, sent.id);
      this.log.info('task dead-lettered', { taskId: claimed._id, messageId: sent.id });
      return 'sent';
    } catch (e) {
      // The claim goes stale and the reclaimer's sweep sends it later.
      this.log.warn('could not dead-letter the task now; the reclaimer will', {
        taskId: task._id,
        error: errorMessage(e),
      });
      return 'failed';
    }
  }

  /** By id (the worker's hook knows only the outcome). */
  async sendById(taskId: string): Promise<SendOutcome> {
    const task = await this.o.store.get(taskId).catch(() => null);
    return task ? this.send(task) : 'not-due';
  }

  /** Tasks finished within DeadLetter:SweepWindow and not sent: sends each (a reclaimer pass). */
  async sweep(now = new Date()): Promise<SweepResult> {
    const due = await this.o.store.deadLetters.due(new Date(now.getTime() - this.o.sweepWindowMs), SWEEP_LIMIT);
    const r: SweepResult = { found: due.length, sent: 0, failed: 0 };
    for (const t of due) {
      const outcome = await this.send(t);
      if (outcome === 'sent') r.sent++;
      else if (outcome === 'failed') r.failed++;
    }
    return r;
  }

  /** The worker hook: a final failure is dead-lettered as soon as it is recorded. */
  workerHooks<H extends FinishedTaskHook>(next?: H): FinishedTaskHook {
    return {
      onTaskFinished: async (outcome: { taskId: string; outcome: string }) => {
        await next?.onTaskFinished?.(outcome);
        if (!finalOutcomes.has(outcome.outcome)) return;
        // Bounded, so a slow queue never holds the worker's slot: a send still running goes on, and if the
        // invocation ends first the reclaimer's sweep sends it.
        let timer: NodeJS.Timeout | undefined;
        const waited = new Promise<void>((done) => {
          timer = setTimeout(done, HOOK_WAIT_MS);
          timer.unref();
        });
        await Promise.race([this.sendById(outcome.taskId), waited]);
        clearTimeout(timer);
      },
    };
  }

  /** Replays up to `max` dead letters into new runs through the ingest queue (replay.ts). */
  async replay(max: number, ingest: QueueProvider): Promise<TaskReplayResult> {
    return replayTaskDeadLetters(await this.queue(), ingest, this.o.store, max);
  }

  /** Tasks whose dead letter was sent, most recently finished first. */
  list(limit: number): Promise<Task[]> {
    return this.o.store.deadLetters.sent(limit);
  }

  async close(): Promise<void> {
    const p = this.provider;
    this.provider = undefined;
    if (p) await p.then((q) => q.close()).catch(() => undefined);
  }
}
