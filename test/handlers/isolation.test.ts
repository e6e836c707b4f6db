/**
 * Isolated handlers against the real database: a handler that blocks its thread keeps its lease (the
 * worker's loop heartbeats) while a reclaimer runs; a crashing thread or process fails only its task;
 * a busy loop is terminated on timeout and on cancel. Each kind runs for thread and process.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type AppConfig } from '../../lib/config/index.js';
import { loadHandlers, type HandlerRegistry } from '../../lib/handlers/index.js';
import { runReclaimer } from '../../lib/reclaimer/index.js';
import { taskStoreOptions } from '../../lib/store/create.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { createWorker, type Worker } from '../../lib/worker/index.js';
import { WorkerRegistry } from '../../lib/worker-registry/index.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { waitFor } from '../worker/helpers.js';

const fixtureModule = fileURLToPath(new URL('../fixtures/handlers/index.ts', import.meta.url));
const HEARTBEAT_TIMEOUT = 800;

let t: TestDb;
let store: MongoTaskStore;
let handlers: HandlerRegistry;
let worker: Worker;
let reclaiming = true;
let reclaimer: Promise<void>;
let reclaimedIds: string[] = [];
const config: AppConfig = loadConfig({
  env: {},
  overrides: {
    Worker: {
      HeartbeatInterval: 100,
      HeartbeatTimeout: HEARTBEAT_TIMEOUT,
      PollingInterval: 50,
      BatchSize: 4,
      RetryBaseDelay: 1,
      RetryMaxDelay: 5,
      ShutdownTimeout: 2_000,
    },
    Handlers: { Module: fixtureModule, PoolSize: 2, MemoryLimit: 64 },
  },
});

beforeAll(async () => {
  t = await openTestDb('isolation');
  store = new MongoTaskStore(t.db, taskStoreOptions(config));
  await store.ensureIndexes();
  await new WorkerRegistry(t.db).ensureIndexes();
  handlers = await loadHandlers(config, { abortGraceMs: 100 });
  worker = createWorker({
    store,
    handlers,
    settings: config.Worker,
    registry: new WorkerRegistry(t.db),
    abortGraceMs: 2_000,
  });
  worker.start();
  // A reclaimer pass every 100 ms: any task whose heartbeats stop is taken away at once.
  reclaimer = (async () => {
    while (reclaiming) {
      const s = await runReclaimer({ db: t.db, store, config, record: false });
      reclaimedIds.push(...s.tasks.taskIds);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
});

afterAll(async () => {
  reclaiming = false;
  await reclaimer;
  await worker?.stop();
  await handlers?.close();
  await t?.drop();
});

let seq = 0;
async function ingest(type: string, payload: unknown, extra: { timeoutMs?: number } = {}): Promise<string> {
  const res = await store.ingest([{ type, payload, idempotencyKey: `iso-${Date.now()}-${seq++}`, ...extra }]);
  return res.items[0]!.taskId;
}

const final = [S.Succeeded, S.Error, S.Timeout, S.Cancelled] as number[];
function finished(id: string): Promise<Task> {
  return waitFor(async () => {
    const task = await store.get(id);
    return task && final.includes(task.status) ? task : undefined;
  }, `task ${id} to finish`);
}

describe.each(['thread', 'process'] as const)('%s isolation', (kind) => {
  it(`a handler blocking its ${kind} for twice the HeartbeatTimeout keeps its lease and succeeds`, async () => {
    reclaimedIds = [];
    const id = await ingest(`block-${kind}`, { ms: 2 * HEARTBEAT_TIMEOUT });
    const task = await finished(id);
    expect(task.status).toBe(S.Succeeded);
    expect(task.attempts).toBe(1);
    expect(reclaimedIds).not.toContain(id);
    expect((task.result as { blockedMs: number; pid: number }).blockedMs).toBe(2 * HEARTBEAT_TIMEOUT);
    if (kind === 'process') expect((task.result as { pid: number }).pid).not.toBe(process.pid);
  });

  it.each([
    ['crash-callback', /uncaught Error: boom in a timer callback/],
    ['exit', /exited with code 7/],
    ['oom', /out of memory/],
  ])(`a %s in the ${kind} fails only its task, with the reason, and the worker goes on`, async (what, reason) => {
    const id = await ingest(`${what}-${kind}`, null);
    const task = await finished(id);
    expect(task.status).toBe(S.Error);
    expect(task.errors.at(-1)).toMatchObject({ kind: 'HandlerCrashed' });
    expect(task.errors.at(-1)!.message).toMatch(reason);
    const next = await finished(await ingest(`noop-${kind}`, null));
    expect(next.status).toBe(S.Succeeded);
  });

  it(`a busy loop in a ${kind} is ended for real by its timeout`, async () => {
    const id = await ingest(`spin-${kind}`, null, { timeoutMs: 300 });
    const task = await finished(id);
    expect(task.status).toBe(S.Timeout);
    const next = await finished(await ingest(`noop-${kind}`, null));
    expect(next.status).toBe(S.Succeeded);
  });

  it(`a busy loop in a ${kind} is ended for real by a cancel`, async () => {
    const id = await ingest(`spin-${kind}`, null, { timeoutMs: 600_000 });
    await waitFor(async () => (await store.get(id))?.status === S.Running, 'running');
    await store.cancel(id, { by: 'test' });
    const task = await finished(id);
    expect(task.status).toBe(S.Cancelled);
    const next = await finished(await ingest(`noop-${kind}`, null));
    expect(next.status).toBe(S.Succeeded);
  });
});
