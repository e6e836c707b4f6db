/**
 * Smoke test of the comparison bench (bench/compare): each system's adapter, on tiny sizes, processes
 * every task exactly once, in this process and (taskmesh) through worker processes. No timing is
 * asserted. pg-boss and BullMQ are skipped, with the reason, when PostgreSQL or Redis is not reachable.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnWorkerProcess, type WorkerProcess } from '../../bench/compare/procs.js';
import { Progress, range } from '../../bench/compare/scenarios/common.js';
import { pgUnavailable, redisUnavailable, serviceEndpoints } from '../../bench/compare/services.js';
import { createAdapter, newNamespace } from '../../bench/compare/systems.js';
import { TaskmeshAdapter } from '../../bench/compare/taskmesh.js';
import { wakeCollections } from '../../lib/wake/index.js';
import type { AdapterConfig, SystemName } from '../../bench/compare/types.js';
import { mongoUri } from '../support/services.js';

const TASKS = 20;
const mongo = await mongoUri();
const endpoints = serviceEndpoints();
const unavailable: Record<SystemName, string | undefined> = {
  taskmesh: undefined,
  agenda: undefined,
  pgboss: await pgUnavailable(endpoints.pgUrl),
  bullmq: await redisUnavailable(endpoints.redis),
};
for (const [system, why] of Object.entries(unavailable))
  if (why) console.warn(`bench compare smoke test: skipping ${system}: ${why}`);

const config = (system: SystemName): AdapterConfig => ({
  ns: newNamespace(`smoke${system}`),
  mongoUri: mongo,
  pgUrl: endpoints.pgUrl,
  redis: endpoints.redis,
  pollMs: 100,
  lease: { timeoutMs: 10_000, refreshMs: 2_000, checkMs: 10_000 },
});

/** Every task 0..TASKS-1 started once and finished once: no task lost, none run twice. */
function expectExactlyOnce(p: Progress): void {
  expect([...p.startedAt.keys()].sort((a, b) => a - b)).toEqual(range(0, TASKS));
  expect([...p.finished].sort((a, b) => a - b)).toEqual(range(0, TASKS));
  expect(p.duplicateStarts).toBe(0);
  expect(p.duplicateDone).toBe(0);
}

describe('bench compare adapters: every task processed exactly once', () => {
  for (const system of ['taskmesh', 'agenda', 'pgboss', 'bullmq'] as const) {
    const why = unavailable[system];
    it.skipIf(why !== undefined)(
      `${system}${why ? ` (skipped: ${why})` : ''}: one worker, concurrency 4, ${TASKS} tasks (half one at a time, half in bulk)`,
      async () => {
        const adapter = await createAdapter(system, config(system));
        try {
          await adapter.setup();
          for (let n = 0; n < TASKS / 2; n++) await adapter.enqueueOne(n);
          await adapter.enqueueBulk(range(TASKS / 2, TASKS / 2));
          const p = new Progress();
          await adapter.startWorker({ concurrency: 4, onStart: (n) => p.started(n), onDone: (n) => p.done(n) });
          expect(await p.doneBy(TASKS, 30_000)).toBe(true);
          await expect.poll(() => adapter.completed(), { timeout: 10_000, interval: 50 }).toBe(TASKS);
          expectExactlyOnce(p);
        } finally {
          await adapter.teardown({ drop: true });
        }
      },
      60_000,
    );
  }
});

describe('bench compare taskmesh adapter without wake-ups (polling only)', () => {
  it(`one worker, concurrency 4, ${TASKS} tasks, each run exactly once`, async () => {
    const adapter = new TaskmeshAdapter(config('taskmesh'), { wake: false });
    try {
      await adapter.setup();
      await adapter.enqueueBulk(range(0, TASKS));
      const p = new Progress();
      await adapter.startWorker({ concurrency: 4, onStart: (n) => p.started(n), onDone: (n) => p.done(n) });
      expect(await p.doneBy(TASKS, 30_000)).toBe(true);
      await expect.poll(() => adapter.completed(), { timeout: 10_000, interval: 50 }).toBe(TASKS);
      expectExactlyOnce(p);
      // No wake-up collections: nothing in this composition announces or listens through the database.
      const names = (await adapter.database.listCollections().toArray()).map((c) => c.name);
      expect(names.filter((n) => Object.values<string>(wakeCollections).includes(n))).toEqual([]);
    } finally {
      await adapter.teardown({ drop: true });
    }
  }, 60_000);
});

describe('bench compare worker processes', () => {
  const children: WorkerProcess[] = [];
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop(5_000)));
  });

  it(`taskmesh: two worker processes share ${TASKS} tasks, each run exactly once`, async () => {
    const cfg = config('taskmesh');
    const adapter = await createAdapter('taskmesh', cfg);
    try {
      await adapter.setup();
      await adapter.enqueueBulk(range(0, TASKS));
      const p = new Progress();
      for (let i = 0; i < 2; i++) {
        children.push(
          spawnWorkerProcess(
            { system: 'taskmesh', concurrency: 2, mode: 'noop', config: cfg, maxLifetimeMs: 60_000 },
            {
              onStarted: (ns) => ns.forEach((n) => p.started(n)),
              onDone: (ns) => ns.forEach((n) => p.done(n)),
            },
          ),
        );
      }
      await Promise.all(children.map((c) => c.ready));
      for (const c of children) c.go();
      expect(await p.doneBy(TASKS, 30_000)).toBe(true);
      await expect.poll(() => adapter.completed(), { timeout: 10_000, interval: 50 }).toBe(TASKS);
      expectExactlyOnce(p);
      await Promise.all(children.map((c) => c.stop(5_000)));
      for (const c of children) expect((await c.exited).code).toBe(0);
    } finally {
      await adapter.teardown({ drop: true });
    }
  }, 60_000);
});
