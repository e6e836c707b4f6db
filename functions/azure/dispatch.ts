import { queueDispatcher, type Dispatcher } from '../../lib/app/dispatch.js';
import type { AppServices } from '../../lib/app/services.js';
import { createQueueProvider } from '../../lib/queues/factory.js';

let cached: Promise<Dispatcher> | undefined;

/** Ingest wakes processors through the dispatch storage queue (AzureStorage:DispatchQueueName). */
export function dispatcher(s: AppServices): Promise<Dispatcher> {
  if (!cached) {
    cached = (async () => {
      const q = await createQueueProvider(s.config, { queue: 'dispatch', logger: s.logger });
      // Infrastructure declares the queue; creating it when missing (idempotent) keeps a fresh app working.
      await q.ensureQueues();
      return queueDispatcher(q, s.logger);
    })();
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}
