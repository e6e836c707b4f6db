/**
 * The reclaimer applies a type's own retry limit (its handler's maxRetries) as the worker does: a
 * stalled task of a type with maxRetries 0 ends Timeout, though the task itself allows retries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineHandler, HandlerRegistry } from '../../lib/handlers/index.js';
import { runReclaimer } from '../../lib/reclaimer/index.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { Task } from '../../lib/tasks/model.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { testConfig } from '../worker/helpers.js';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb('reclaim_type');
  await new MongoTaskStore(t.db).ensureIndexes();
});
afterAll(async () => t?.drop());

function stalled(id: string, type: string): Task {
  const now = new Date();
  return {
    _id: id,
    type,
    payload: null,
    priority: 0,
    status: S.Running,
    version: 3,
    idempotencyKey: id,
    attempts: 1,
    maxRetries: 3,
    nextAttemptAt: now,
    owner: { workerId: 'gone', leaseToken: `tok-${id}`, acquiredAt: now },
    heartbeatAt: new Date(now.getTime() - 3_600_000),
    cancelRequested: false,
    errors: [],
    history: [],
    createdAt: now,
    updatedAt: now,
  } as Task;
}

describe('reclaimer with the deployment handlers', () => {
  it("uses a handler's own maxRetries; other types keep the task's", async () => {
    const tasks = t.db.collection<Task>('tasks');
    await tasks.insertMany([stalled('once', 'only-once'), stalled('plain', 'plain')]);
    const handlers = new HandlerRegistry([
      defineHandler({ type: 'only-once', payload: z.unknown(), maxRetries: 0, run: () => null }),
    ]);
    const summary = await runReclaimer({ db: t.db, config: testConfig(), handlers, record: false });
    expect(summary.tasks).toMatchObject({ found: 2, retried: 1, timedOut: 1 });
    expect((await tasks.findOne({ _id: 'once' }))!.status).toBe(S.Timeout);
    expect((await tasks.findOne({ _id: 'plain' }))!.status).toBe(S.Retrying);
  });
});
