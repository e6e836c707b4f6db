import { setTimeout as sleep } from 'node:timers/promises';
import { MongoNetworkError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { taskStoreOptions } from '../../lib/store/create.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import { JobTaskStatus as S, type JobTaskStatus } from '../../lib/tasks/status.js';
import { builtinHandlers, defineHandler, HandlerRegistry, NonRetryableError } from '../../lib/handlers/index.js';
import { createWorker, runWorkerInvocation, type TaskOutcome, type WorkerOptions } from '../../lib/worker/index.js';
import { WorkerRegistry } from '../../lib/worker-registry/index.js';
import { runReclaimer } from '../../lib/reclaimer/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { testConfig, waitFor } from './helpers.js';

let t: TestDb;
let store: MongoTaskStore;
const config = testConfig({
  HeartbeatInterval: 50,
  PollingInterval: 20,
  BatchSize: 4,
  RetryBaseDelay: 1,
  RetryMaxDelay: 5,
  MaxRetries: 3,
  ShutdownTimeout: 2_000,
});

beforeAll(async () => {
  t = await openTestDb('worker');
  store = new MongoTaskStore(t.db, taskStoreOptions(config));
  await store.ensureIndexes();
  await new WorkerRegistry(t.db).ensureIndexes();
});
afterAll(async () => {
  await t.drop();
});

let seq = 0;
async function ingest(
  type: string,
  payload: unknown,
  extra: { maxRetries?: number; timeoutMs?: number } = {},
): Promise<string> {
  const res = await store.ingest([{ type, payload, idempotencyKey: `k-${Date.now()}-${seq++}`, ...extra }]);
  return res.items[0]!.taskId;
}

function worker(handlers: HandlerRegistry, opts: Partial<WorkerOptions> = {}) {
  const outcomes: TaskOutcome[] = [];
  const w = createWorker({
    store,
    handlers,
    settings: config.Worker,
    registry: new WorkerRegistry(t.db),
    abortGraceMs: 100,
    ...opts,
    hooks: { onTaskFinished: (o) => void outcomes.push(o) },
  });
  return { w, outcomes };
}

async function finished(id: string) {
  return waitFor(async () => {
    const task = await store.get(id);
    return task && [S.Succeeded, S.Error, S.Timeout, S.Cancelled].includes(task.status as 23) ? task : undefined;
  }, `task ${id} to finish`);
}

describe('worker run loop', () => {
  it('runs a task to Succeeded with its result, and keeps a registry record', async () => {
    const id = await ingest('echo', { hello: 'world' });
    const { w, outcomes } = worker(new HandlerRegistry(builtinHandlers()));
    w.start();
    const task = await finished(id);
    expect(task.status).toBe(S.Succeeded);
    expect(task.result).toEqual({ hello: 'world' });
    expect(task.attempts).toBe(1);
    const rec = await waitFor(
      async () => (await new WorkerRegistry(t.db).list()).find((r) => r._id === w.id),
      'registry record',
    );
    expect(rec.types).toEqual(['echo', 'sleep', 'fail']);
    const summary = await w.stop();
    expect(summary.outcomes.succeeded).toBe(1);
    expect(outcomes.map((o) => [o.taskId, o.outcome])).toEqual([[id, 'succeeded']]);
    const after = await new WorkerRegistry(t.db).get(w.id);
    expect(after?.state).toBe('stopped');
    expect(after?.processed).toBe(1);
  });

  it('retries with backoff up to MaxRetries, then ends Error with every attempt recorded', async () => {
    const failing = await ingest('fail', { times: 10, message: 'boom' }, { maxRetries: 2 });
    const recovering = await ingest('fail', { times: 2 }, { maxRetries: 3 });
    const { w } = worker(new HandlerRegistry(builtinHandlers()));
    w.start();
    const a = await finished(failing);
    const b = await finished(recovering);
    await w.stop();
    expect(a.status).toBe(S.Error);
    expect(a.attempts).toBe(3);
    expect(a.errors.map((e) => [e.attempt, e.message, e.kind])).toEqual([
      [1, 'boom', 'Error'],
      [2, 'boom', 'Error'],
      [3, 'boom', 'Error'],
    ]);
    expect(a.errors[0]!.stack).toContain('boom');
    expect(a.history.filter((h) => h.to === S.Retrying)).toHaveLength(2);
    expect(b.status).toBe(S.Succeeded);
    expect(b.result).toEqual({ succeededOnAttempt: 3 });
  });

  it("honours a handler's own maxRetries and NonRetryableError", async () => {
    const handlers = new HandlerRegistry([
      defineHandler({
        type: 'flaky',
        schema: z.unknown(),
        maxRetries: 0,
        run: () => {
          throw new Error('once only');
        },
      }),
      defineHandler({
        type: 'fatal',
        schema: z.unknown(),
        run: () => {
          throw new NonRetryableError('bad request');
        },
      }),
    ]);
    const a = await ingest('flaky', null, { maxRetries: 5 });
    const b = await ingest('fatal', null, { maxRetries: 5 });
    const { w } = worker(handlers);
    w.start();
    expect((await finished(a)).attempts).toBe(1);
    const fb = await finished(b);
    await w.stop();
    expect(fb.status).toBe(S.Error);
    expect(fb.attempts).toBe(1);
    expect(fb.errors[0]!.kind).toBe('NonRetryableError');
  });

  it('fails an unknown type and an invalid payload at once, without retry', async () => {
    const unknown = await ingest('no-such-type', {}, { maxRetries: 5 });
    const invalid = await ingest('sleep', { ms: 'soon' }, { maxRetries: 5 });
    const { w, outcomes } = worker(new HandlerRegistry(builtinHandlers()), { claimUnknownTypes: true });
    w.start();
    const u = await finished(unknown);
    const i = await finished(invalid);
    await w.stop();
    expect(u.status).toBe(S.Error);
    expect(u.attempts).toBe(1);
    expect(u.errors[0]).toMatchObject({ kind: 'UnknownTaskType' });
    expect(u.errors[0]!.message).toContain('no handler for type "no-such-type"');
    expect(i.status).toBe(S.Error);
    expect(i.attempts).toBe(1);
    expect(i.errors[0]).toMatchObject({ kind: 'InvalidPayload' });
    expect(i.errors[0]!.message).toMatch(/ms: .*number/);
    expect(
      outcomes
        .filter((o) => o.outcome === 'rejected')
        .map((o) => o.taskId)
        .sort(),
    ).toEqual([unknown, invalid].sort());
  });

  it('by default leaves types it has no handler for to other workers', async () => {
    const id = await ingest('someone-elses', {});
    const { w } = worker(new HandlerRegistry(builtinHandlers()), { maxTasks: 1 });
    const echo = await ingest('echo', 1);
    w.start();
    await finished(echo);
    await w.stop();
    expect((await store.get(id))?.status).toBe(S.Queued);
  });

  it('times out a handler, retries it, then ends Timeout', async () => {
    const handlers = new HandlerRegistry([
      defineHandler({
        type: 'slow',
        schema: z.unknown(),
        timeoutMs: 100,
        maxRetries: 1,
        run: (_p, ctx) => sleep(60_000, undefined, { signal: ctx.signal }),
      }),
    ]);
    const id = await ingest('slow', null, { maxRetries: 5 });
    const { w, outcomes } = worker(handlers);
    w.start();
    const task = await finished(id);
    await w.stop();
    expect(task.status).toBe(S.Timeout);
    expect(task.attempts).toBe(2);
    expect(task.errors.map((e) => e.kind)).toEqual(['Timeout', 'Timeout']);
    expect(task.errors[0]!.message).toContain('timeout of 100 ms');
    expect(outcomes.map((o) => [o.attempt, o.outcome]).sort()).toEqual([
      [1, 'retrying'],
      [2, 'timed-out'],
    ]);
  });

  it('does not let a handler that ignores the abort signal block the worker', async () => {
    let stubbornFinished = false;
    const handlers = new HandlerRegistry([
      defineHandler({
        type: 'stubborn',
        schema: z.unknown(),
        timeoutMs: 100,
        maxRetries: 0,
        run: async () => {
          await sleep(30_000, undefined, { ref: false });
          stubbornFinished = true;
        },
      }),
      ...builtinHandlers(),
    ]);
    const stubborn = await ingest('stubborn', null);
    const { w } = worker(handlers, { settings: { ...config.Worker, Concurrency: 1, BatchSize: 1 } });
    w.start();
    expect((await finished(stubborn)).status).toBe(S.Timeout);
    const next = await ingest('echo', 'after');
    expect((await finished(next)).status).toBe(S.Succeeded);
    await w.stop();
    expect(stubbornFinished).toBe(false);
  });

  it('saves reported progress with the next heartbeat', async () => {
    const handlers = new HandlerRegistry([
      defineHandler({
        type: 'progressive',
        schema: z.unknown(),
        run: async (_p, ctx) => {
          ctx.progress({ step: 1, of: 2 });
          await waitFor(
            async () => ((await store.get(ctx.taskId))?.progress as { step?: number } | undefined)?.step === 1,
            'progress saved',
          );
          return 'done';
        },
      }),
    ]);
    const id = await ingest('progressive', null);
    const { w } = worker(handlers);
    w.start();
    const task = await finished(id);
    await w.stop();
    expect(task.status).toBe(S.Succeeded);
    expect(task.progress).toEqual({ step: 1, of: 2 });
  });

  it("a stale worker whose lease was reclaimed cannot overwrite the new owner's result", async () => {
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    const staleHandlers = new HandlerRegistry([
      defineHandler({
        type: 'contested',
        schema: z.unknown(),
        run: async () => {
          await gate;
          return { by: 'stale' };
        },
      }),
    ]);
    const freshHandlers = new HandlerRegistry([
      defineHandler({ type: 'contested', schema: z.unknown(), run: () => ({ by: 'fresh' }) }),
    ]);
    const id = await ingest('contested', null, { maxRetries: 3 });
    // The stale worker never heartbeats (as if paused or partitioned).
    const stale = worker(staleHandlers, { settings: { ...config.Worker, HeartbeatInterval: 3_600_000 }, maxTasks: 1 });
    stale.w.start();
    await waitFor(async () => (await store.get(id))?.status === S.Running, 'stale worker running the task');
    await sleep(100);
    const pass = await runReclaimer({
      db: t.db,
      config: testConfig({ HeartbeatInterval: 10, HeartbeatTimeout: 50, RetryBaseDelay: 1, RetryMaxDelay: 1 }),
      record: false,
    });
    expect(pass.tasks.taskIds).toContain(id);

    const fresh = worker(freshHandlers);
    fresh.w.start();
    const done = await finished(id);
    expect(done.status).toBe(S.Succeeded);
    expect(done.result).toEqual({ by: 'fresh' });
    const version = done.version;

    openGate();
    await waitFor(() => stale.outcomes.length === 1, 'stale worker to give up');
    await Promise.all([stale.w.stop(), fresh.w.stop()]);
    expect(stale.outcomes[0]!.outcome).toBe('lease-lost');
    const after = await store.get(id);
    expect(after?.result).toEqual({ by: 'fresh' });
    expect(after?.version).toBe(version);
    expect(fresh.outcomes.map((o) => o.outcome)).toEqual(['succeeded']);
  });
});

/** The real store, where each listed write applies once and then loses its reply (as a dropped connection does). */
function lostReplyStore(inner: MongoTaskStore, ops: readonly (keyof TaskStore)[]): TaskStore & { lost: Set<string> } {
  const lost = new Set<string>();
  return new Proxy(inner as unknown as TaskStore & { lost: Set<string> }, {
    get(target, prop, receiver) {
      if (prop === 'lost') return lost;
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || !ops.includes(prop as keyof TaskStore)) return value;
      return async (...args: unknown[]) => {
        const r: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (!lost.has(prop as string)) {
          lost.add(prop as string);
          throw new MongoNetworkError(`connection closed after ${String(prop)} applied`);
        }
        return r;
      };
    },
  });
}

describe('writes whose reply was lost', () => {
  const fast = { retries: 3, initialDelayMs: 5, maxDelayMs: 20 };

  it('a retried complete that had applied is still reported as our success (once)', async () => {
    const flaky = lostReplyStore(store, ['start', 'complete']);
    const id = await ingest('echo', 'x');
    const { w, outcomes } = worker(new HandlerRegistry(builtinHandlers()), {
      store: flaky,
      resilience: fast,
      maxTasks: 1,
    });
    const summary = await w.run();
    expect([...flaky.lost].sort()).toEqual(['complete', 'start']);
    expect(summary.outcomes.succeeded).toBe(1);
    expect(outcomes.map((o) => [o.taskId, o.outcome])).toEqual([[id, 'succeeded']]);
    expect((await store.get(id))?.status).toBe(S.Succeeded);
  });

  it('a retried fail that had applied reports the retry it scheduled', async () => {
    const flaky = lostReplyStore(store, ['fail']);
    const id = await ingest('fail', { times: 1 }, { maxRetries: 2 });
    const { w, outcomes } = worker(new HandlerRegistry(builtinHandlers()), {
      store: flaky,
      resilience: fast,
      maxTasks: 2,
    });
    await w.run();
    // The retry is due at once, so attempt 2 may finish while attempt 1 is still reconciling its write.
    expect(outcomes.map((o) => [o.attempt, o.outcome]).sort()).toEqual([
      [1, 'retrying'],
      [2, 'succeeded'],
    ]);
    const task = await store.get(id);
    expect(task?.errors).toHaveLength(1);
  });

  it('a task claimed again while its failed run is still being recorded: both runs are tracked apart', async () => {
    // fail() applies at once (the retry is due at once) but its reply comes late: the worker claims the task again meanwhile.
    const slowFail = new Proxy(store as unknown as TaskStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'fail' || typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const r: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          await sleep(300);
          return r;
        };
      },
    });
    const id = await ingest('fail', { times: 1 }, { maxRetries: 2 });
    const { w, outcomes } = worker(new HandlerRegistry(builtinHandlers()), { store: slowFail, maxTasks: 2 });
    const summary = await w.run();
    expect(summary.claimed).toBe(2);
    expect(outcomes.map((o) => [o.taskId, o.attempt, o.outcome]).sort()).toEqual([
      [id, 1, 'retrying'],
      [id, 2, 'succeeded'],
    ]);
    expect((await store.get(id))?.status).toBe(S.Succeeded);
  });

  it('a write that never answers (a silently dropped connection) times out and is retried', async () => {
    let hung = 0;
    const hanging = new Proxy(store as unknown as TaskStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop !== 'complete' || typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          hung++ === 0
            ? new Promise(() => undefined)
            : (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      },
    });
    const id = await ingest('echo', 'eventually');
    const { w, outcomes } = worker(new HandlerRegistry(builtinHandlers()), {
      store: hanging,
      resilience: { ...fast, callTimeoutMs: 200 },
      maxTasks: 1,
    });
    await w.run();
    expect(hung).toBe(2);
    expect(outcomes.map((o) => o.outcome)).toEqual(['succeeded']);
    expect((await store.get(id))?.status).toBe(S.Succeeded);
  });

  it('a claim whose reply was lost leaves no orphan: the worker adopts what was assigned to it', async () => {
    const flaky = lostReplyStore(store, ['claim']);
    const id = await ingest('echo', 'orphan?');
    const { w, outcomes } = worker(new HandlerRegistry(builtinHandlers()), {
      store: flaky,
      resilience: fast,
      maxTasks: 1,
      settings: { ...config.Worker, BatchSize: 1 },
    });
    await w.run();
    expect(flaky.lost.has('claim')).toBe(true);
    expect(outcomes.map((o) => [o.taskId, o.outcome])).toEqual([[id, 'succeeded']]);
    const task = await store.get(id);
    expect(task?.status).toBe(S.Succeeded);
    expect(task?.attempts).toBe(1);
  });

  it('a retried release that had applied is reported as released', async () => {
    const flaky = lostReplyStore(store, ['release']);
    const handlers = new HandlerRegistry([
      defineHandler({
        type: 'held',
        schema: z.unknown(),
        run: (_p, ctx) => sleep(60_000, undefined, { signal: ctx.signal }),
      }),
    ]);
    const id = await ingest('held', null);
    const { w, outcomes } = worker(handlers, { store: flaky, resilience: fast });
    w.start();
    await waitFor(async () => (await store.get(id))?.status === S.Running, 'running');
    await w.stop('stopped', { timeoutMs: 0 });
    expect(outcomes.map((o) => o.outcome)).toEqual(['released']);
    const task = await store.get(id);
    expect(task?.status).toBe(S.Queued);
    expect(task?.attempts).toBe(0);
  });
});

describe('runWorkerInvocation (one serverless invocation)', () => {
  it('claims only types whose timeout fits before the deadline, runs them, and returns when idle', async () => {
    const handlers = new HandlerRegistry([
      defineHandler({ type: 'quick', schema: z.unknown(), timeoutMs: 1_000, run: (p) => p }),
      defineHandler({ type: 'long', schema: z.unknown(), timeoutMs: 600_000, run: (p) => p }),
    ]);
    const quick = await Promise.all([1, 2, 3].map((n) => ingest('quick', n)));
    const long = await ingest('long', 'x');
    const summary = await runWorkerInvocation({
      store,
      handlers,
      settings: config.Worker,
      registry: new WorkerRegistry(t.db),
      deadline: Date.now() + 20_000,
      deadlineMarginMs: 1_000,
    });
    expect(summary.stoppedBecause).toBe('idle');
    expect(summary.outcomes.succeeded).toBe(3);
    for (const id of quick) expect((await store.get(id))?.status).toBe(S.Succeeded);
    const l = await store.get(long);
    expect(l?.status).toBe(S.Queued);
    expect(l?.attempts).toBe(0);
    expect((await new WorkerRegistry(t.db).get(summary.workerId))?.state).toBe('stopped');
    await store.cancel(long);
  });

  it('gives back a task whose own timeout does not fit, and stops claiming', async () => {
    const handlers = new HandlerRegistry([
      defineHandler({ type: 'quick2', schema: z.unknown(), timeoutMs: 1_000, run: (p) => p }),
    ]);
    const id = await ingest('quick2', 'x', { timeoutMs: 600_000 });
    const summary = await runWorkerInvocation({
      store,
      handlers,
      settings: config.Worker,
      deadline: Date.now() + 20_000,
      deadlineMarginMs: 1_000,
    });
    expect(summary.outcomes.released).toBe(1);
    expect(summary.claimed).toBe(1);
    const task = await store.get(id);
    expect(task?.status).toBe(S.Queued);
    expect(task?.attempts).toBe(0);
    await store.cancel(id);
  });

  it('releases what is still running when the invocation is aborted', async () => {
    const handlers = new HandlerRegistry([
      defineHandler({
        type: 'slowpoke',
        schema: z.unknown(),
        timeoutMs: 5_000,
        run: (_p, ctx) => sleep(60_000, undefined, { signal: ctx.signal }),
      }),
    ]);
    const id = await ingest('slowpoke', null);
    const ac = new AbortController();
    const pending = runWorkerInvocation({
      store,
      handlers,
      settings: config.Worker,
      deadline: Date.now() + 30_000,
      signal: ac.signal,
    });
    await waitFor(async () => (await store.get(id))?.status === S.Running, 'running');
    ac.abort();
    const summary = await pending;
    expect(summary.outcomes.released).toBe(1);
    const task = await store.get(id);
    expect(task?.status).toBe(S.Queued);
    expect(task?.attempts).toBe(0);
    await store.cancel(id);
  });
});

describe('claiming ahead', () => {
  /**
   * Runs 10 tasks of 150 ms at Concurrency 2, BatchSize 4; returns the most tasks leased at once (Assigned or
   * Running) and the most Assigned at once (claimed, not yet started), sampled.
   */
  async function mostAtOnce(type: string, deadline?: number): Promise<{ leased: number; assigned: number }> {
    const ids = await Promise.all(Array.from({ length: 10 }, () => ingest(type, {})));
    const handlers = new HandlerRegistry([defineHandler({ type, schema: z.object({}), run: () => sleep(150) })]);
    const settings = testConfig({
      HeartbeatInterval: 50,
      PollingInterval: 20,
      BatchSize: 4,
      Concurrency: 2,
      TaskTimeout: 5_000,
    }).Worker;
    const count = (states: JobTaskStatus[]) => store.tasks.countDocuments({ type, status: { $in: states } });
    const most = { leased: 0, assigned: 0 };
    let done = false;
    const sampler = (async () => {
      while (!done) {
        most.leased = Math.max(most.leased, await count([S.Assigned, S.Running]));
        most.assigned = Math.max(most.assigned, await count([S.Assigned]));
        await sleep(10);
      }
    })();
    if (deadline === undefined) {
      const w = createWorker({ store, handlers, settings }).start();
      await Promise.all(ids.map((id) => finished(id)));
      await w.stop();
    } else {
      await runWorkerInvocation({ store, handlers, settings, deadline });
    }
    done = true;
    await sampler;
    for (const id of ids) expect((await store.get(id))!.status).toBe(S.Succeeded);
    return most;
  }

  it('a long-running worker claims the next batch while its slots are busy', async () => {
    // 2 running and a batch of 4 waiting: more than the 2 x Concurrency a run may hold without claiming ahead.
    expect((await mostAtOnce('ahead.long')).leased).toBeGreaterThan(4);
  });

  it('an invocation with a deadline claims only for free slots, so no claimed task waits', async () => {
    const most = await mostAtOnce('ahead.deadline', Date.now() + 60_000);
    // Claimed (Assigned) tasks never outnumber the free slots; the leased ones are at most the 2 running and the
    // 2 whose outcome is being written (a slot frees when its handler settles).
    expect(most.assigned).toBeLessThanOrEqual(2);
    expect(most.leased).toBeLessThanOrEqual(4);
  });
});
