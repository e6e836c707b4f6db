import type { Logger } from '../log/logger.js';
import type { StopReason, WorkerSummary } from './worker-options.js';

export interface Stoppable {
  stop(reason?: StopReason, opts?: { timeoutMs?: number }): Promise<WorkerSummary>;
}

export interface ShutdownOptions {
  logger: Logger;
  signals?: readonly NodeJS.Signals[];
}

/**
 * SIGTERM/SIGINT stop the worker gracefully (no more claims, running tasks get Worker:ShutdownTimeout,
 * the rest is released). A second signal shortens the drain to nothing: tasks are released at once,
 * except those whose handler ignores its abort (they keep their lease until the handler settles or the hard stop).
 * Kubernetes sends SIGTERM after the preStop hook, then SIGKILL after terminationGracePeriodSeconds,
 * so ShutdownTimeout must stay below that. Returns a function removing the handlers.
 */
export function installShutdownHandlers(worker: Stoppable, o: ShutdownOptions): () => void {
  const signals = o.signals ?? ['SIGTERM', 'SIGINT'];
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      o.logger.info('signal received: shutting down gracefully', { signal });
      void worker.stop(signal);
    } else {
      o.logger.warn('second signal: releasing running tasks now', { signal });
      void worker.stop(signal, { timeoutMs: 0 });
    }
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
