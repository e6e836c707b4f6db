/** Messages between the bench (parent) and its worker processes (bench/compare/worker-process.ts), checked on arrival. */
import { z } from 'zod';
import { systemNames } from './types.js';

export const childToParent = z.discriminatedUnion('t', [
  z.object({ t: z.literal('ready'), pid: z.number() }),
  z.object({ t: z.literal('started'), ns: z.array(z.number()) }),
  z.object({ t: z.literal('done'), ns: z.array(z.number()) }),
  z.object({
    t: z.literal('mem'),
    done: z.number(),
    maxRssBytes: z.number(),
    rssBytes: z.number(),
    heapUsedBytes: z.number(),
    atMs: z.number(),
  }),
  z.object({ t: z.literal('error'), message: z.string() }),
]);
export type ChildMessage = z.infer<typeof childToParent>;

export const parentToChild = z.discriminatedUnion('t', [
  z.object({ t: z.literal('go') }),
  z.object({ t: z.literal('stop') }),
]);
export type ParentMessage = z.infer<typeof parentToChild>;

const lease = z.object({ timeoutMs: z.number(), refreshMs: z.number(), checkMs: z.number() });

/** What a worker process is told through the environment (BENCH_COMPARE_CHILD, JSON). */
export const childSpec = z.object({
  system: z.enum(systemNames),
  concurrency: z.number().int().positive(),
  mode: z.enum(['noop', 'hang']),
  config: z.object({
    ns: z.string(),
    mongoUri: z.string(),
    pgUrl: z.string(),
    redis: z.object({ host: z.string(), port: z.number() }),
    pollMs: z.number(),
    lease,
    batchSize: z.number().int().positive().optional(),
  }),
  /** Report memory when this many tasks are done (the memory scenario). */
  memoryAt: z.array(z.number()).default([]),
  /** The process ends itself after this long whatever happens. */
  maxLifetimeMs: z.number().positive(),
});
export type ChildSpec = z.input<typeof childSpec>;
