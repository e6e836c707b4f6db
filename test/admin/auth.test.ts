import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyMatches, presentedKey } from '../../lib/admin/auth.js';
import { adminRouteTable, createAdminRouter } from '../../lib/admin/router.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { API_KEY, expectProblem, harness, type Harness } from './support.js';

/** One request per route, valid in every respect but the key. */
function sampleRequests(taskId: string): { route: string; method: string; path: string; body?: unknown }[] {
  return [
    { route: 'GET /health', method: 'GET', path: '/health' },
    { route: 'GET /tasks', method: 'GET', path: '/tasks' },
    { route: 'GET /tasks/{id}', method: 'GET', path: `/tasks/${taskId}` },
    {
      route: 'POST /tasks',
      method: 'POST',
      path: '/tasks',
      body: { type: 'echo', payload: { x: 1 }, idempotencyKey: 'no-key-create' },
    },
    { route: 'POST /tasks/{id}/cancel', method: 'POST', path: `/tasks/${taskId}/cancel`, body: {} },
    { route: 'POST /tasks/{id}/retry', method: 'POST', path: `/tasks/${taskId}/retry`, body: {} },
    { route: 'GET /task-types', method: 'GET', path: '/task-types' },
    { route: 'GET /stats', method: 'GET', path: '/stats' },
    { route: 'GET /workers', method: 'GET', path: '/workers' },
    { route: 'GET /queues', method: 'GET', path: '/queues' },
    {
      route: 'POST /queues/{name}/dead-letters/replay',
      method: 'POST',
      path: '/queues/tasks/dead-letters/replay',
      body: { max: 10 },
    },
    { route: 'GET /dead-letters/tasks', method: 'GET', path: '/dead-letters/tasks' },
    {
      route: 'POST /dead-letters/tasks/replay',
      method: 'POST',
      path: '/dead-letters/tasks/replay',
      body: { max: 10 },
    },
    { route: 'POST /messages', method: 'POST', path: '/messages', body: { body: { type: 'echo' } } },
    { route: 'GET /ordering-keys', method: 'GET', path: '/ordering-keys?blocked=true' },
    { route: 'POST /ordering-keys/{key}/unblock', method: 'POST', path: '/ordering-keys/k/unblock' },
    { route: 'GET /dashboard', method: 'GET', path: '/dashboard' },
  ];
}

describe('admin API authentication', () => {
  let tdb: TestDb;
  let h: Harness;
  let waitingId: string;
  let failedId: string;

  beforeAll(async () => {
    tdb = await openTestDb('admin_auth');
    h = harness(tdb.db);
    await h.store.ensureIndexes();
    const res = await h.store.ingest([
      { type: 'secret-type', payload: { card: '4111' }, idempotencyKey: 'failing' },
      { type: 'secret-type', payload: { n: 2 }, idempotencyKey: 'waiting' },
    ]);
    failedId = res.items[0]!.taskId;
    waitingId = res.items[1]!.taskId;
    // Leave one task finished (retryable) and one waiting (cancellable).
    const [c] = await h.store.claim('w1');
    await h.store.start(c!.lease);
    await h.store.fail(c!.lease, { message: 'boom' }, { retryable: false });
    if (c!.task._id !== failedId) [failedId, waitingId] = [waitingId, failedId];
    h.queue.addDeadLetters(3);
    await tdb.db.collection('workers').insertOne({
      _id: 'worker-1' as never,
      state: 'idle',
      host: { hostname: 'h', pid: 1, platform: 'linux', nodeVersion: 'v20' },
      currentTaskIds: [],
      types: ['echo'],
      concurrency: 1,
      startedAt: new Date(),
      lastHeartbeatAt: new Date(),
      version: 1,
    });
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('has a sample request for every route in the router', () => {
    expect(
      sampleRequests('x')
        .map((r) => r.route)
        .sort(),
    ).toEqual([...adminRouteTable].sort());
  });

  const badKeys: [string, (r: { headers: Record<string, string>; query: Record<string, string> }) => void][] = [
    ['no key', () => undefined],
    [
      'a wrong key',
      (r) => {
        r.headers['x-functions-key'] = 'wrong';
      },
    ],
    [
      'a wrong key of the same length',
      (r) => {
        r.headers['x-functions-key'] = API_KEY.slice(0, -1) + (API_KEY.endsWith('f') ? 'e' : 'f');
      },
    ],
    [
      'a wrong ?code=',
      (r) => {
        r.query.code = 'nope';
      },
    ],
    [
      'the key in another header',
      (r) => {
        r.headers.authorization = `Bearer ${API_KEY}`;
      },
    ],
    [
      'an empty key',
      (r) => {
        r.headers['x-functions-key'] = '';
      },
    ],
  ];

  describe.each(badKeys)('with %s', (_label, apply) => {
    it.each(sampleRequests('PLACEHOLDER').map((r) => [r.route]))(
      '%s reads nothing and changes nothing',
      async (route) => {
        const sample = sampleRequests(route.includes('retry') ? failedId : waitingId).find((r) => r.route === route)!;
        const tasksBefore = await tdb.db.collection('tasks').find().sort({ _id: 1 }).toArray();
        const workersBefore = await tdb.db.collection('workers').find().toArray();
        const deadBefore = h.queue.dead.map((d) => d.id);
        const callsBefore = h.queue.calls.length;
        const enqueuedBefore = h.enqueued.length;
        const req = { headers: {} as Record<string, string>, query: {} as Record<string, string> };
        apply(req);
        const res = await h.call(sample.method, sample.path, {
          key: null,
          headers: req.headers,
          query: req.query,
          ...(sample.body !== undefined ? { body: sample.body } : {}),
        });

        expect(res.status).toBe(401);
        if (route === 'GET /dashboard') {
          expect(res.headers['content-type']).toMatch(/^text\/html/);
          expect(res.body).not.toMatch(/data-base|\/tasks|secret-type/);
        } else {
          expectProblem(res, 401);
        }
        // Nothing read: no task data, no queue call; nothing changed: same documents, same queues.
        // (The problem's `instance` echoes the request path, which the caller sent; nothing else may name a task.)
        const shown =
          route === 'GET /dashboard' ? res.body : JSON.stringify({ ...(res.json as object), instance: undefined });
        for (const secret of ['secret-type', '4111', 'boom', waitingId, failedId, 'worker-1', 'dl-', API_KEY])
          expect(shown).not.toContain(secret);
        expect(h.queue.calls.length).toBe(callsBefore);
        expect(h.enqueued.length).toBe(enqueuedBefore);
        expect(h.queue.dead.map((d) => d.id)).toEqual(deadBefore);
        expect(await tdb.db.collection('tasks').find().sort({ _id: 1 }).toArray()).toEqual(tasksBefore);
        expect(await tdb.db.collection('workers').find().toArray()).toEqual(workersBefore);
      },
    );
  });

  it('accepts the key in x-functions-key (any case) and in ?code=', async () => {
    expect((await h.call('GET', '/tasks')).status).toBe(200);
    expect((await h.call('GET', '/tasks', { key: null, headers: { 'X-Functions-Key': API_KEY } })).status).toBe(200);
    expect((await h.call('GET', '/tasks', { key: null, query: { code: API_KEY } })).status).toBe(200);
    expect((await h.call('GET', '/dashboard', { key: null, query: { code: API_KEY } })).status).toBe(200);
  });

  it('the dashboard without a key is a sign-in form; with a wrong one it says so', async () => {
    const none = await h.call('GET', '/dashboard', { key: null });
    expect(none.body).toContain('name="code"');
    expect(none.body).not.toContain('That key was not accepted');
    const wrong = await h.call('GET', '/dashboard', { key: null, query: { code: 'bad' } });
    expect(wrong.body).toContain('That key was not accepted');
  });

  it('refuses everything when no key is configured', async () => {
    const router = createAdminRouter({ ...h.ctx, apiKey: undefined });
    for (const key of [undefined, '', 'anything']) {
      const res = await router.handle({
        method: 'GET',
        path: '/tasks',
        query: {},
        headers: key === undefined ? {} : { 'x-functions-key': key },
        body: undefined,
      });
      expect(res.status).toBe(401);
    }
  });

  it("platform mode (Azure's host checks function keys) skips the in-app check, explicitly", async () => {
    const router = createAdminRouter({ ...h.ctx, apiKey: undefined }, { auth: 'platform' });
    const res = await router.handle({ method: 'GET', path: '/tasks', query: {}, headers: {}, body: undefined });
    expect(res.status).toBe(200);
  });

  it('compares keys exactly', () => {
    expect(keyMatches(API_KEY, API_KEY)).toBe(true);
    expect(keyMatches(`${API_KEY} `, API_KEY)).toBe(false);
    expect(keyMatches('', API_KEY)).toBe(false);
    expect(keyMatches(undefined, API_KEY)).toBe(false);
    expect(keyMatches('', '')).toBe(false);
    expect(keyMatches('x', undefined)).toBe(false);
    expect(presentedKey({ headers: { 'x-functions-key': 'h' }, query: { code: 'q' } })).toBe('h');
    expect(presentedKey({ headers: {}, query: { code: ['q1', 'q2'] } })).toBe('q1');
  });
});
