import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdminRouter } from '../../lib/admin/router.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { FakeQueue, expectProblem, harness, items, obj, type Harness } from './support.js';

describe('admin API: queues, messages, health', () => {
  let tdb: TestDb;
  let h: Harness;

  beforeAll(async () => {
    tdb = await openTestDb('admin_queues');
  });
  beforeEach(() => {
    h = harness(tdb.db);
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('GET /queues: depth, dead-letter depth, oldest message age per provider and queue', async () => {
    await h.queue.send({ body: 'a' });
    await h.queue.send({ body: 'b' });
    h.queue.addDeadLetters(4);
    const other = new FakeQueue('other', 'orders');
    other.reachable = false;
    const router = createAdminRouter({ ...h.ctx, queues: [h.queue, other] });
    const res = await router.handle({
      method: 'GET',
      path: '/queues',
      query: {},
      headers: { 'x-functions-key': h.ctx.apiKey! },
      body: undefined,
    });
    expect(res.status).toBe(200);
    const list = items(JSON.parse(res.body));
    expect(list[0]).toMatchObject({
      provider: 'fake',
      queue: 'tasks',
      deadLetterQueue: 'tasks-dlq',
      reachable: true,
      depth: 2,
      deadLetterDepth: 4,
    });
    expect(typeof list[0]!.oldestMessageAgeMs).toBe('number');
    expect(list[1]).toMatchObject({
      provider: 'other',
      queue: 'orders',
      reachable: false,
      depth: null,
      error: 'connection refused',
    });
  });

  it('POST /queues/{name}/dead-letters/replay moves messages back, counted, up to max', async () => {
    h.queue.addDeadLetters(5);
    const bodies = h.queue.dead.map((d) => d.body);
    const res = await h.call('POST', '/queues/tasks/dead-letters/replay', { body: { max: 3 } });
    expect(res.status).toBe(200);
    expect(obj(res.json)).toMatchObject({ provider: 'fake', queue: 'tasks', replayed: 3, failed: 0, errors: [] });
    expect(h.queue.dead).toHaveLength(2);
    expect(h.queue.main.map((m) => m.body)).toEqual(bodies.slice(0, 3));
    expect(h.queue.main[0]!.properties).toMatchObject({
      origin: 'test',
      taskmeshReplayOf: expect.stringMatching(/^dl-/),
    });

    const rest = await h.call('POST', '/queues/tasks/dead-letters/replay');
    expect(obj(rest.json)).toMatchObject({ replayed: 2, failed: 0 });
    expect(h.queue.dead).toHaveLength(0);
    expect(h.queue.main).toHaveLength(5);
  });

  it('a message whose send fails stays dead-lettered; the error is reported without secrets', async () => {
    h.queue.addDeadLetters(2);
    h.queue.failSends = true;
    const res = await h.call('POST', '/queues/tasks-dlq/dead-letters/replay', { body: { max: 10 } });
    expect(res.status).toBe(200);
    const r = obj(res.json);
    expect(r).toMatchObject({ replayed: 0, failed: 2 });
    expect(JSON.stringify(r.errors)).toContain('send refused');
    expect(res.body).not.toContain('supersecret');
    expect(h.queue.dead).toHaveLength(2);
    expect(h.queue.main).toHaveLength(0);
  });

  it('replay: unknown queue 404, ambiguous name 400, bad body 400', async () => {
    expectProblem(await h.call('POST', '/queues/nope/dead-letters/replay'), 404);
    expectProblem(await h.call('POST', '/queues/tasks/dead-letters/replay', { body: { max: 0 } }), 400);
    expectProblem(await h.call('POST', '/queues/tasks/dead-letters/replay', { body: { max: 'all' } }), 400);
    const twin = new FakeQueue('twin', 'tasks');
    const router = createAdminRouter({ ...h.ctx, queues: [h.queue, twin] });
    const res = await router.handle({
      method: 'POST',
      path: '/queues/tasks/dead-letters/replay',
      query: {},
      headers: { 'x-functions-key': h.ctx.apiKey! },
      body: '{}',
    });
    expect(res.status).toBe(400);
    const ok = await router.handle({
      method: 'POST',
      path: '/queues/tasks/dead-letters/replay',
      query: {},
      headers: { 'x-functions-key': h.ctx.apiKey! },
      body: '{"provider":"twin"}',
    });
    expect(ok.status).toBe(200);
  });

  it('POST /messages sends one message through the injected enqueue', async () => {
    const res = await h.call('POST', '/messages', {
      body: { body: { type: 'echo', payload: { n: 1 } }, properties: { source: 'cli' }, delayMs: 10 },
    });
    expect(res.status).toBe(202);
    expect(obj(res.json)).toEqual({ messageId: 'm-1' });
    expect(h.enqueued).toEqual([
      { body: '{"type":"echo","payload":{"n":1}}', properties: { source: 'cli' }, delayMs: 10 },
    ]);
    const text = await h.call('POST', '/messages', { body: { body: 'plain text' } });
    expect(text.status).toBe(202);
    expect(h.enqueued[1]!.body).toBe('plain text');
  });

  it('POST /messages: bad input 400; 404 where the host has no queue to send to', async () => {
    expectProblem(await h.call('POST', '/messages', { body: {} }), 400);
    expectProblem(await h.call('POST', '/messages', { body: { body: 'x', delayMs: -1 } }), 400);
    expectProblem(await h.call('POST', '/messages', { body: { body: 'x', properties: { a: { nested: true } } } }), 400);
    expect(h.enqueued).toHaveLength(0);
    const noQueue = harness(tdb.db, { ctx: { enqueue: undefined } });
    const p = expectProblem(await noQueue.call('POST', '/messages', { body: { body: 'x' } }), 404);
    expect(p.type).toBe('urn:taskmesh:problem:messages-unavailable');
  });

  it('GET /health: 200 when the database and queues answer, with the reclaimer last run', async () => {
    const lastRunAt = new Date(Date.now() - 5_000);
    const hh = harness(tdb.db, {
      ctx: { reclaimerStatus: async () => ({ lastRunAt, summary: { found: 1, retried: 1 } }) },
      router: { reclaimerStaleAfterMs: 60_000 },
    });
    const res = await hh.call('GET', '/health');
    expect(res.status).toBe(200);
    const body = obj(res.json);
    expect(body.status).toBe('healthy');
    const checks = obj(body.checks);
    expect(obj(checks.database).ok).toBe(true);
    expect(checks.queues).toEqual([{ provider: 'fake', queue: 'tasks', ok: true }]);
    expect(obj(checks.reclaimer)).toMatchObject({
      ok: true,
      configured: true,
      lastRunAt: lastRunAt.toISOString(),
      summary: { found: 1, retried: 1 },
    });
  });

  it('GET /health: 503 when a queue, the database or the reclaimer is not well', async () => {
    h.queue.reachable = false;
    expect((await h.call('GET', '/health')).status).toBe(503);

    const dbDown = harness(tdb.db, {
      ctx: {
        ping: async () => {
          throw new Error('connect ECONNREFUSED mongodb://admin:hunter2@db:27017');
        },
      },
    });
    const res = await dbDown.call('GET', '/health');
    expect(res.status).toBe(503);
    expect(obj(obj(obj(res.json).checks).database)).toMatchObject({ ok: false });
    expect(res.body).not.toContain('hunter2');

    const stale = harness(tdb.db, {
      ctx: { reclaimerStatus: async () => ({ lastRunAt: new Date(Date.now() - 3_600_000), summary: null }) },
      router: { reclaimerStaleAfterMs: 60_000 },
    });
    expect((await stale.call('GET', '/health')).status).toBe(503);
    const never = harness(tdb.db, { ctx: { reclaimerStatus: async () => null } });
    expect((await never.call('GET', '/health')).status).toBe(200);
  });
});
