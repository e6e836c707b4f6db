/**
 * Task dead letters: tasks that ended Error or Timeout after their last attempt go to DeadLetter:Queue
 * (sender.ts) and are replayed from there into new runs (replay.ts). Message-level dead letters (a
 * refused message in its own entity's dead-letter queue) are the queue providers' (lib/queues).
 */
import type { AppConfig } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import { createQueueProvider, type QueueProviderConfig } from '../queues/factory.js';
import type { TaskStore } from '../store/task-store.js';
import { TaskDeadLetters } from './sender.js';

export { TaskDeadLetters, type FinishedTaskHook, type SendOutcome, type SweepResult } from './sender.js';
export { parseTaskDeadLetter, toTaskDeadLetter, TASK_DEAD_LETTER_FORMAT, type TaskDeadLetter } from './envelope.js';
export { replayTaskDeadLetters, type TaskReplayResult } from './replay.js';

/** The deployment's task dead letters, or undefined when DeadLetter:Queue is not set (off). */
export function taskDeadLettersFor(
  config: QueueProviderConfig & Pick<AppConfig, 'DeadLetter'>,
  store: TaskStore,
  logger?: Logger,
): TaskDeadLetters | undefined {
  const name = config.DeadLetter.Queue;
  if (!name) return undefined;
  return new TaskDeadLetters({
    store,
    queueName: name,
    queue: () => createQueueProvider(config, { queueName: name, ...(logger ? { logger } : {}) }),
    claimTimeoutMs: config.DeadLetter.ClaimTimeout,
    sweepWindowMs: config.DeadLetter.SweepWindow,
    ...(logger ? { logger } : {}),
  });
}
