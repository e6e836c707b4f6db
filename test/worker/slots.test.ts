/**
 * Handler slots (lib/worker/task-slots.ts): a run gives its slot up when its handler settles, so the next
 * task's handler runs while the previous outcome is being written; at most 2 x Concurrency runs are active
 * (running or writing); a stopping worker still waits for every outcome write. The store is the real one;
 * its complete() is held back by a gate the test opens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { taskStoreOptions } from '../../lib/store/create.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { defineHandler, HandlerRegistry } from '../../lib/handlers/index.js';
import { createWorker, type TaskOutcome } from '../../lib/worker/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { testConfig, waitFor } from './helpers.js';

let t: TestDb;
let store: MongoTaskStore;
const config = testConfig({ HeartbeatInterval: 50, PollingInterval: 20, BatchSize: 4, Concurrency: 1 });

beforeAll(async () => {
  t = await openTestDb('slots');
  store = new MongoTaskStore(t.db, taskStoreOptions(config));
  await store.ensureIndexes();
});
afterAll(async () => {
  await t.drop();
});

/** The real store, with complete() calls held until open() (each records its task id when it arrives). */
function gatedCompletes(inner: TaskStore) {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const held: string[] = [];
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'complete' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        held.push((args[0] as { taskId: string }).taskId);
        await gate;
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
  return { store, held, open };
}

async function setUp(type: string, n: number) {
  const res = await store.ingest(Array.from({ length: n }, (_, i) => ({ type, payload: { i } })));
  const ids = res.items.map((x) => x.taskId);
  const started: string[] = [];
  const handlers = new HandlerRegistry([
    defineHandler({ type, schema: z.unknown(), run: (_p, ctx) => void started.push(ctx.taskId) }),
  ]);
  const gated = gatedCompletes(store);
  const outcomes: TaskOutcome[] = [];
  const w = createWorker({
    store: gated.store,
    handlers,
    settings: config.Worker,
    hooks: { onTaskFinished: (o) => void outcomes.push(o) },
  });
  return { ids, started, gated, outcomes, w };
}

describe('handler slots', () => {
  it('a slot frees when its handler settles: the next handler runs while the last outcome is being written', async () => {
    const { ids, started, gated, outcomes, w } = await setUp('slots.next', 2);
    w.start();
    // Concurrency 1: the second handler can only run once the first gave its slot up.
    await waitFor(() => started.length === 2, 'both handlers to run', 10_000);
    expect(gated.held).toHaveLength(2);
    // Neither outcome has landed yet: both tasks are still Running, leased.
    for (const id of ids) expect((await store.get(id))!.status).toBe(S.Running);
    gated.open();
    await waitFor(() => outcomes.length === 2, 'both outcomes', 10_000);
    await w.stop();
    for (const id of ids) expect((await store.get(id))!.status).toBe(S.Succeeded);
  });

  it('at most 2 x Concurrency runs are active: a third handler waits for a write to land', async () => {
    const { ids, started, gated, outcomes, w } = await setUp('slots.bound', 3);
    w.start();
    await waitFor(() => gated.held.length === 2, 'two outcome writes held', 10_000);
    // Give the run loop every chance to start a third handler; it must not.
    await sleep(300);
    expect(started).toHaveLength(2);
    gated.open();
    await waitFor(() => outcomes.length === 3, 'all outcomes', 10_000);
    await w.stop();
    expect(outcomes.map((o) => o.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    for (const id of ids) expect((await store.get(id))!.status).toBe(S.Succeeded);
  });

  it('a stopping worker waits for outcome writes still on their way', async () => {
    const { ids, gated, outcomes, w } = await setUp('slots.drain', 1);
    w.start();
    await waitFor(() => gated.held.length === 1, 'the outcome write held', 10_000);
    const stopped = w.stop();
    setTimeout(() => gated.open(), 200);
    const summary = await stopped;
    // stop() resolved only after the write landed and the outcome was counted.
    expect(outcomes.map((o) => o.outcome)).toEqual(['succeeded']);
    expect(summary.outcomes.succeeded).toBe(1);
    expect((await store.get(ids[0]!))!.status).toBe(S.Succeeded);
  });
});
