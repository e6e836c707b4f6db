/**
 * The handler module of the isolation bench (loaded through Handlers:Module, so threads and processes
 * import it too): a no-op and a CPU-bound task (sha256 chained for `ms` milliseconds). No isolation of
 * their own: Handlers:Isolation picks it per run.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineHandler } from '../lib/handlers/index.js';

export const handlers = [
  defineHandler({ type: 'noop', payload: z.unknown(), run: () => null }),
  defineHandler({
    type: 'hash',
    payload: z.object({ ms: z.number().int().min(1) }),
    run: ({ ms }) => {
      const until = performance.now() + ms;
      let h = Buffer.alloc(32);
      while (performance.now() < until) h = createHash('sha256').update(h).digest();
      return h.toString('hex').slice(0, 8);
    },
  }),
];
