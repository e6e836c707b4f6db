import { DueTimers } from './due-timers.js';
import type { WakeChannel, WakeListener } from './wake-up.js';

/**
 * Wake-ups within one process (the local runtime's processors beside its API and ingest; a worker
 * embedded in an application): a function call, no round trip.
 */
export function inProcessChannel(): WakeChannel {
  const listeners = new Set<WakeListener>();
  const due = new DueTimers((w) => {
    for (const l of [...listeners]) l(w);
  });
  return {
    name: 'in-process',
    announce: (w) => {
      if (w.count > 0) due.add(w.count, w.at?.getTime());
      return Promise.resolve();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => {
      due.clear();
      listeners.clear();
      return Promise.resolve();
    },
  };
}
