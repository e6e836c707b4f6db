import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getReclaimerState, runReclaimer } from '../../lib/reclaimer/index.js';
import { createTaskStore } from '../../lib/store/create.js';
import type { TaskStore } from '../../lib/store/task-store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { WorkerRegistry } from '../../lib/worker-registry/registry.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { testConfig } from '../worker/helpers.js';

let t: TestDb;
let store: TaskStore;
const config = testConfig(
  { HeartbeatInterval: 200, HeartbeatTimeout: 1_000, RetryBaseDelay: 1, RetryMaxDelay: 1 },
  { ArchiveAfter: '1h', DeleteAfter: '1h', PurgeAfter: '1h' },
);
const later = (ms: number) => new Date(Date.now() + ms);
let n = 0;

beforeAll(async () => {
  t = await openTestDb('reclaimer');
  store = createTaskStore(t.db, config);
  await store.ensureIndexes();
  await new WorkerRegistry(t.db).ensureIndexes();
});
afterAll(async () => {
  await t.drop();
});

async function claimed(count: number, maxRetries = 3) {
  const type = `r${n++}`;
  await store.ingest(
    Array.from({ length: count }, (_, i) => ({ type, payload: i, maxRetries, idempotencyKey: `${type}-${i}` })),
  );
  return store.claim('gone-worker', { limit: count, types: [type] });
}

describe('reclaimer', () => {
  it('reclaims stalled tasks, retrying those with attempts left and timing out the others', async () => {
    const [a] = await claimed(1, 3);
    const [b] = await claimed(1, 0);
    const s = await runReclaimer({ db: t.db, config, now: later(5_000), by: 'test' });
    expect(s.ok).toBe(true);
    expect(s.tasks.taskIds).toEqual(expect.arrayContaining([a!.task._id, b!.task._id]));
    expect((await store.get(a!.task._id))?.status).toBe(S.Retrying);
    const tb = await store.get(b!.task._id);
    expect(tb?.status).toBe(S.Timeout);
    expect(tb?.errors[0]).toMatchObject({ kind: 'LeaseExpired', workerId: 'gone-worker' });
    // Idempotent: a second pass finds nothing more to do for them.
    const again = await runReclaimer({ db: t.db, config, now: later(5_000) });
    expect(again.tasks.taskIds).not.toContain(a!.task._id);
  });

  it('is safe with several passes at once: each stalled task is reclaimed exactly once', async () => {
    const tasks = await claimed(20);
    const passes = await Promise.all(
      [1, 2, 3].map((i) => runReclaimer({ db: t.db, config, now: later(5_000), by: `r${i}` })),
    );
    const ids = passes.flatMap((p) => p.tasks.taskIds);
    for (const c of tasks) expect(ids.filter((id) => id === c.task._id)).toHaveLength(1);
    for (const c of tasks) {
      const task = await store.get(c.task._id);
      expect(task?.status).toBe(S.Retrying);
      expect(task?.errors.filter((e) => e.kind === 'LeaseExpired')).toHaveLength(1);
    }
  });

  it('marks workers dead whose heartbeat is older than HeartbeatTimeout, and prunes old records', async () => {
    const r = new WorkerRegistry(t.db);
    const host = { hostname: 'h', pid: 1, platform: 'linux', nodeVersion: 'v20' };
    await r.register({ id: 'w-silent', host, types: [], concurrency: 1 }, new Date(Date.now() - 10_000));
    await r.register({ id: 'w-alive', host, types: [], concurrency: 1 });
    await r.register({ id: 'w-ancient', host, types: [], concurrency: 1 }, new Date(Date.now() - 3 * 3_600_000));
    await r.markStopped('w-ancient', 0, new Date(Date.now() - 2 * 3_600_000));
    const s = await runReclaimer({ db: t.db, config });
    expect(s.workers.markedDead).toContain('w-silent');
    expect(s.workers.markedDead).not.toContain('w-alive');
    expect(s.workers.pruned).toBeGreaterThanOrEqual(1);
    expect((await r.get('w-silent'))?.state).toBe('dead');
    expect(await r.get('w-ancient')).toBeNull();
  });

  it('archives, deletes and purges by the Retention section', async () => {
    const [c] = await claimed(1);
    await store.start(c!.lease);
    await store.complete(c!.lease, 'ok');
    const s1 = await runReclaimer({ db: t.db, config, now: later(2 * 3_600_000) });
    expect(s1.retention?.archived).toBeGreaterThanOrEqual(1);
    expect((await store.get(c!.task._id))?.status).toBe(S.Archived);
  });

  it('records its last run for the health endpoint', async () => {
    const s = await runReclaimer({ db: t.db, config, by: 'health-check' });
    const state = await getReclaimerState(t.db);
    expect(state?.lastRun.runId).toBe(s.runId);
    expect(state?.lastRun.by).toBe('health-check');
    expect(state?.lastSuccessAt).toEqual(s.finishedAt);
    expect(state?.runs).toBeGreaterThanOrEqual(1);
  });

  it('reports a failing step and still runs the others', async () => {
    const broken = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'reclaim') return () => Promise.reject(new Error('reclaim exploded'));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    }) as TaskStore;
    const s = await runReclaimer({ db: t.db, store: broken, config });
    expect(s.ok).toBe(false);
    expect(s.errors).toEqual([{ step: 'reclaim', message: 'reclaim exploded' }]);
    expect(s.retention).not.toBeNull();
    expect((await getReclaimerState(t.db))?.lastFailureAt).toEqual(s.finishedAt);
  });
});
