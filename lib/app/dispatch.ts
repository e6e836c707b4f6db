import type { QueueProvider } from '../queues/provider.js';
import type { Logger } from '../log/logger.js';
import type { WakeTarget } from '../wake/wake-up.js';

/**
 * Wakes serverless processors: on Azure a message on the dispatch storage queue (its trigger scales
 * processors out); on Function Compute an asynchronous invocation of the processor function. `at`
 * delays the wake-up to when the tasks become claimable (a backoff's end, a notBefore) with what the
 * queue offers (a Storage queue's visibility timeout on send, MNS DelaySeconds, a Service Bus scheduled
 * message). A failed wake-up is logged, never fatal: the timer sweep picks the tasks up anyway.
 */
export interface Dispatcher {
  wake(stored: number, at?: Date): Promise<void>;
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
    async wake(stored, at) {
      if (stored <= 0) return;
      const due = at && at.getTime() > Date.now() ? at : undefined;
      // A queue that cannot delay a message gets none: an early wake-up would find nothing and exit.
      if (due && !queue.capabilities.scheduledDelivery) return;
      const body: WakeUp = { kind: 'wake', stored, at: (due ?? new Date()).toISOString() };
      try {
        await queue.send({ body: JSON.stringify(body), ...(due ? { scheduledAt: due } : {}) });
      } catch (e) {
        logger.warn('dispatch wake-up failed; the sweep will pick the tasks up', { queue: queue.queueName, err: e });
      }
    },
  };
}

/** A dispatcher as a target of the host's wake-ups (lib/wake): every task that becomes claimable wakes a processor. */
export function dispatchTarget(d: Dispatcher): WakeTarget {
  return { announce: (w) => d.wake(w.count, w.at) };
}
