/**
 * Task dead letters end to end, through the same lib/app calls every host makes (processor,
 * reclaimer, admin API), against the real database and Azurite: a task exhausted by the worker and one
 * timed out by the reclaimer land in DeadLetter:Queue with their reason, last error and original
 * message, once; a dead sender's claim is taken over; a replay makes a new run that succeeds.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createServices, type AppServices } from '../../lib/app/services.js';
import { adminRouterFor, processInvocation, pullIngest, reclaimInvocation } from '../../lib/app/invocations.js';
import { parseTaskDeadLetter } from '../../lib/dead-letters/index.js';
import { defineHandler, type TaskHandler } from '../../lib/handlers/handler.js';
import { createAdminServer } from '../../lib/admin/node-http.js';
import { createQueueProvider } from '../../lib/queues/factory.js';
import type { QueueProvider } from '../../lib/queues/provider.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { azuriteConnectionString, mongoUri } from '../support/services.js';

const suffix = randomBytes(3).toString('hex');
const TASKCTL = resolve(import.meta.dirname, '../../bin/taskctl.mjs');

/** The real CLI, as an operator runs it, against an admin API server. */
async function taskctl(url: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(process.execPath, [TASKCTL, ...args], {
      env: { ...process.env, TASKCTL_URL: url, TASKCTL_KEY: 'k' },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}
let broken = true;
const flaky = defineHandler({
  type: 'flaky',
  schema: z.object({ order: z.number() }),
  run: ({ order }) => {
    if (broken) throw new Error(`payment service down for order ${order}`);
    return { order, paid: true };
  },
});

describe('task dead letters (DeadLetter:Queue)', () => {
  let s: AppServices;
  let ingest: QueueProvider;
  let dlq: QueueProvider;
  const inv = (functionName: string) => ({
    invocationId: randomBytes(4).toString('hex'),
    functionName,
    deadline: Date.now() + 30_000,
  });
  const admin = () => adminRouterFor(s, { router: { auth: 'platform' } });
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await admin().handle({
      method,
      path,
      query: {},
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, data: JSON.parse(r.body) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const env = {
      MONGODB_URI: await mongoUri(),
      MongoDB__DatabaseName: `taskdl_${suffix}`,
      AzureStorage__ConnectionString: await azuriteConnectionString(),
      AzureStorage__QueueName: `ingest-${suffix}`,
      AzureStorage__DispatchQueueName: `dispatch-${suffix}`,
      DeadLetter__Queue: `failed-tasks-${suffix}`,
      DeadLetter__ClaimTimeout: '300',
      Worker__RetryBaseDelay: '10',
      Worker__RetryMaxDelay: '20',
      Worker__HeartbeatInterval: '50',
      Worker__HeartbeatTimeout: '200',
      Worker__PollingInterval: '50',
      Worker__TaskTimeout: '5000',
      Admin__ApiKey: 'k',
    };
    s = await createServices({
      runtime: 'local',
      env,
      handlers: [flaky as TaskHandler<z.ZodType, unknown>],
    });
    ingest = await createQueueProvider(s.config);
    await ingest.ensureQueues();
    dlq = await createQueueProvider(s.config, { queueName: env.DeadLetter__Queue });
  });
  afterAll(async () => {
    await ingest?.close();
    await dlq?.close();
    await s?.database.db.dropDatabase();
    await s?.close();
  });

  async function drainDlq() {
    const got = await dlq.receive({ maxMessages: 32, waitMs: 0 });
    for (const m of got) await dlq.abandon(m, 0);
    return got.map((m) => {
      const p = parseTaskDeadLetter(m.body);
      if (!p.ok) throw new Error(p.why);
      return p.value;
    });
  }

  it('is off without DeadLetter:Queue', async () => {
    const off = await createServices({
      runtime: 'local',
      env: { MONGODB_URI: await mongoUri(), MongoDB__DatabaseName: `taskdl_off_${suffix}` },
    });
    expect(off.deadLetters).toBeUndefined();
    await off.close();
  });

  it('an exhausted task is dead-lettered once, with reason, last error and original message, and replayed into a new run', async () => {
    const [t] = (await s.store.ingest([{ type: 'flaky', payload: { order: 42 }, priority: 3, maxRetries: 1 }])).items;
    const taskId = t!.taskId;
    // Two attempts (maxRetries 1), both failing: Error after the last one.
    for (let i = 0; i < 20 && (await s.store.get(taskId))!.status !== S.Error; i++) {
      await processInvocation(s, inv('processor'));
      await sleep(30);
    }
    const failed = (await s.store.get(taskId))!;
    expect(failed.status).toBe(S.Error);
    expect(failed.attempts).toBe(2);
    // Sent by the worker's failure path, right after the final write.
    expect(failed.deadLetter).toMatchObject({ state: 'sent', attempts: 2, queue: `failed-tasks-${suffix}` });

    const [dl, ...more] = await drainDlq();
    expect(more).toEqual([]);
    expect(dl).toMatchObject({
      taskId,
      type: 'flaky',
      status: 'Error',
      reason: 'payment service down for order 42',
      lastError: { message: 'payment service down for order 42', kind: 'Error', attempt: 2 },
      attempts: 2,
      message: { type: 'flaky', payload: { order: 42 }, priority: 3, maxRetries: 1 },
    });

    // A reclaimer pass finds nothing left to send: once per run.
    const pass = await reclaimInvocation(s, inv('reclaimer'));
    expect(pass.deadLetters).toMatchObject({ sent: 0 });
    expect(await drainDlq()).toHaveLength(1);

    const listed = await call('GET', '/dead-letters/tasks');
    expect(listed.status).toBe(200);
    expect(listed.data.items).toEqual([expect.objectContaining({ taskId, status: 'Error', replayedAt: null })]);

    // An operator lists and replays with taskctl (the existing queue route, the dead-letter queue by name).
    broken = false;
    const server = await createAdminServer(adminRouterFor(s), { port: 0 });
    try {
      const list = await taskctl(server.url, 'dlq', 'list');
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(`dead-letter queue: failed-tasks-${suffix}`);
      expect(list.stdout).toMatch(new RegExp(`${taskId}\\s+flaky\\s+Error\\s+2\\s+.*payment service down`));
      const replay = await taskctl(server.url, 'dlq', 'replay', `failed-tasks-${suffix}`);
      expect(replay).toMatchObject({ code: 0 });
      expect(replay.stdout).toContain(`replayed 1 message(s)`);
      expect(replay.stdout).toContain(`task ${taskId} -> new message`);
    } finally {
      await server.close();
    }
    const messageId = (await s.store.get(taskId))!.deadLetter!.replayMessageId!;
    expect(await drainDlq()).toEqual([]);

    const pulled = await pullIngest(s, ingest, inv('ingest'));
    expect(pulled).toMatchObject({ stored: 1 });
    const again = (await s.store.list({ type: 'flaky' })).tasks.find((x) => x._id !== taskId)!;
    expect(again).toMatchObject({ source: { messageId }, payload: { order: 42 }, priority: 3, status: S.Queued });
    await processInvocation(s, inv('processor'));
    expect(await s.store.get(again._id)).toMatchObject({ status: S.Succeeded, result: { order: 42, paid: true } });
    // The old task keeps its record and notes the replay.
    expect((await s.store.get(taskId))!.deadLetter).toMatchObject({ state: 'sent', replayMessageId: messageId });
  });

  it('a task the reclaimer times out is dead-lettered by the reclaimer; a dead sender’s claim is taken over', async () => {
    broken = true;
    const [t] = (await s.store.ingest([{ type: 'flaky', payload: { order: 7 }, maxRetries: 0 }])).items;
    // A worker claims and starts it, then dies (no heartbeat).
    const [claimed] = await s.store.claim('dead-worker', { types: ['flaky'] });
    expect(claimed?.task._id).toBe(t!.taskId);
    await s.store.start(claimed!.lease);
    await sleep(300);
    const pass = await reclaimInvocation(s, inv('reclaimer'));
    expect(pass.tasks.timedOut).toBe(1);
    expect(pass.deadLetters).toMatchObject({ sent: 1, failed: 0 });
    const [dl] = await drainDlq();
    expect(dl).toMatchObject({
      taskId: t!.taskId,
      status: 'Timeout',
      message: { type: 'flaky', payload: { order: 7 } },
    });
    await dlq.complete((await dlq.receive({ maxMessages: 1, waitMs: 0 }))[0]!);

    // Another exhausted task whose sender claimed it and died before sending.
    const [u] = (await s.store.ingest([{ type: 'flaky', payload: { order: 8 }, maxRetries: 0 }])).items;
    const [c2] = await s.store.claim('worker-2', { types: ['flaky'] });
    await s.store.start(c2!.lease);
    await s.store.fail(c2!.lease, { message: 'boom' }, { retryable: false });
    const task = (await s.store.get(u!.taskId))!;
    // Concurrent claims: exactly one sender wins.
    const claims = await Promise.all(
      [1, 2, 3, 4].map((i) => s.store.deadLetters.claim(task, { token: `dead-${i}`, queue: 'q' }, { staleMs: 300 })),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    // While the claim is live, the sweep leaves it alone; once stale, it sends.
    expect((await reclaimInvocation(s, inv('reclaimer'))).deadLetters).toMatchObject({ sent: 0 });
    await sleep(400);
    expect((await reclaimInvocation(s, inv('reclaimer'))).deadLetters).toMatchObject({ sent: 1 });
    expect((await s.store.get(u!.taskId))!.deadLetter).toMatchObject({ state: 'sent' });
    expect((await drainDlq()).map((d) => d.taskId)).toEqual([u!.taskId]);
  });
});
