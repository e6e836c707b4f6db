import type { QueueProvider } from '../queues/provider.js';
import type { Logger } from '../log/logger.js';

/**
 * Wakes processors after ingest stored new tasks: one wake-up per stored batch, not per task.
 * On Azure it is a message on the dispatch storage queue (its trigger scales processors out); on
 * Function Compute an asynchronous invocation of the processor function. A failed wake-up is logged,
 * never fatal: the timer sweep picks the tasks up anyway.
 */
export interface Dispatcher {
  wake(stored: number): Promise<void>;
}

export const noDispatch: Dispatcher = { wake: async () => undefined };

/** The wake-up message body (the processor reads nothing from it but logs it). */
export interface WakeUp {
  kind: 'wake';
  stored: number;
  at: string;
}

export function queueDispatcher(queue: QueueProvider, logger: Logger): Dispatcher {
  return {
    async wake(stored) {
      if (stored <= 0) return;
      const body: WakeUp = { kind: 'wake', stored, at: new Date().toISOString() };
      try {
        await queue.send({ body: JSON.stringify(body) });
      } catch (e) {
        logger.warn('dispatch wake-up failed; the sweep will pick the tasks up', { queue: queue.queueName, err: e });
      }
    },
  };
}
