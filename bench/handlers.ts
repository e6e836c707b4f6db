/**
 * The handler module of the isolation bench (loaded through Handlers:Module, so threads and processes
 * import it too): a no-op and a CPU-bound task (a fixed number of chained sha256 rounds, calibrated by the
 * bench to about 20 ms on one idle core: a fixed amount of work, so concurrency shows how it scales with
 * cores). No isolation of their own: Handlers:Isolation picks it per run.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { defineHandler } from '../lib/handlers/index.js';

/** Chains `rounds` sha256 digests (the CPU-bound task's work). */
export function hashRounds(rounds: number): Buffer {
  let h = Buffer.alloc(32);
  for (let i = 0; i < rounds; i++) h = createHash('sha256').update(h).digest();
  return h;
}

/** Rounds that take about `ms` on this core now (best of three, after a warm-up). */
export function calibrateRounds(ms: number): number {
  hashRounds(20_000);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    hashRounds(20_000);
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(1, Math.round((20_000 * ms) / best));
}

export const handlers = [
  defineHandler({ type: 'noop', payload: z.unknown(), run: () => null }),
  defineHandler({
    type: 'hash',
    payload: z.object({ rounds: z.number().int().min(1) }),
    run: ({ rounds }) => hashRounds(rounds).toString('hex').slice(0, 8),
  }),
];
