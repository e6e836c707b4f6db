import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { expectProblem, harness, items, obj, runToEnd, type Harness } from './support.js';

describe('admin API: tasks', () => {
  let tdb: TestDb;
  let h: Harness;

  beforeAll(async () => {
    tdb = await openTestDb('admin_tasks');
    h = harness(tdb.db);
    await h.store.ensureIndexes();
  });
  afterAll(async () => {
    await tdb.drop();
  });

  describe('POST /tasks', () => {
    it('creates a task (201, Location) and returns the same task for the same key (200)', async () => {
      const first = await h.call('POST', '/tasks', {
        body: { type: 'email.send', payload: { to: 'a@b.c' }, priority: 5, idempotencyKey: 'order-1', maxRetries: 1 },
      });
      expect(first.status).toBe(201);
      const task = obj(first.json);
      expect(task).toMatchObject({
        type: 'email.send',
        status: S.Queued,
        statusName: 'Queued',
        priority: 5,
        maxRetries: 1,
        payload: { to: 'a@b.c' },
        idempotencyKey: 'order-1',
      });
      expect(first.headers.location).toBe(`/api/tasks/${String(task.id)}`);
      expect((task.history as unknown[]).length).toBeGreaterThan(0);

      const again = await h.call('POST', '/tasks', {
        body: { type: 'email.send', payload: { to: 'other' }, idempotencyKey: 'order-1' },
      });
      expect(again.status).toBe(200);
      expect(obj(again.json).id).toBe(task.id);
      expect(obj(again.json).payload).toEqual({ to: 'a@b.c' });
      expect(await tdb.db.collection('tasks').countDocuments({ idempotencyKey: 'order-1' })).toBe(1);
    });

    it('takes the key from the Idempotency-Key header too', async () => {
      const a = await h.call('POST', '/tasks', { body: { type: 'echo' }, headers: { 'Idempotency-Key': 'hdr-1' } });
      const b = await h.call('POST', '/tasks', { body: { type: 'echo' }, headers: { 'Idempotency-Key': 'hdr-1' } });
      expect([a.status, b.status]).toEqual([201, 200]);
      expect(obj(b.json).id).toBe(obj(a.json).id);
    });

    it('without a key, each POST is a new task', async () => {
      const a = await h.call('POST', '/tasks', { body: { type: 'echo' } });
      const b = await h.call('POST', '/tasks', { body: { type: 'echo' } });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(obj(a.json).id).not.toBe(obj(b.json).id);
    });

    it.each([
      ['no body', undefined, 400, undefined],
      ['invalid JSON', '{"type":', 400, undefined],
      ['a missing type', { payload: 1 }, 400, 'type'],
      ['an empty type', { type: '  ' }, 400, 'type'],
      ['a wrong priority type', { type: 'x', priority: 'high' }, 400, 'priority'],
      ['a fractional maxRetries', { type: 'x', maxRetries: 1.5 }, 400, 'maxRetries'],
      ['an unknown field', { type: 'x', colour: 'red' }, 400, 'body'],
      ['a bad notBefore', { type: 'x', notBefore: 'tomorrow' }, 400, 'notBefore'],
      ['an array', [{ type: 'x' }], 400, 'body'],
    ])('refuses %s', async (_label, body, status, param) => {
      const before = await tdb.db.collection('tasks').countDocuments();
      const res = await h.call('POST', '/tasks', body === undefined ? {} : { body });
      const p = expectProblem(res, status);
      if (param) expect((p['invalid-params'] as { name: string }[]).map((x) => x.name)).toContain(param);
      expect(await tdb.db.collection('tasks').countDocuments()).toBe(before);
    });

    it('refuses a non-JSON content type (415)', async () => {
      expectProblem(
        await h.call('POST', '/tasks', {
          body: 'type=x',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
        415,
      );
    });

    it('answers 405 for a wrong method and 404 for an unknown path', async () => {
      const res = await h.call('DELETE', '/tasks');
      expectProblem(res, 405);
      expect(res.headers.allow).toBe('GET, POST');
      expectProblem(await h.call('GET', '/nothing-here'), 404);
    });
  });

  describe('GET /tasks and /tasks/{id}', () => {
    let ids: { succeeded: string; error: string; running: string };
    const from = new Date(Date.now() - 1000);

    beforeAll(async () => {
      await tdb.db.collection('tasks').deleteMany({});
      await h.store.ingest(
        Array.from({ length: 7 }, (_, i) => ({
          type: i < 5 ? 'alpha' : 'beta',
          payload: { i },
          idempotencyKey: `list-${i}`,
        })),
      );
      const succeeded = (await runToEnd(h.store, 'succeed', 'worker-a'))!;
      const error = (await runToEnd(h.store, 'fail-final', 'worker-a'))!;
      const [c] = await h.store.claim('worker-b');
      await h.store.start(c!.lease);
      ids = { succeeded, error, running: c!.task._id };
    });

    it('lists newest first with status names and numbers', async () => {
      const res = await h.call('GET', '/tasks');
      expect(res.status).toBe(200);
      const list = items(res.json);
      expect(list).toHaveLength(7);
      const created = list.map((t) => Date.parse(String(t.createdAt)));
      expect([...created].sort((a, b) => b - a)).toEqual(created);
      expect(list.find((t) => t.id === ids.error)).toMatchObject({
        status: S.Error,
        statusName: 'Error',
        lastError: 'handler exploded',
      });
      expect(obj(res.json).nextCursor).toBeNull();
    });

    it.each([
      [{ status: 'Succeeded' }, 1],
      [{ status: String(S.Succeeded) }, 1],
      [{ status: 'succeeded,error' }, 2],
      [{ status: ['Queued', 'Running'] }, 5],
      [{ type: 'beta' }, 2],
      [{ type: 'alpha', status: 'Queued' }, 2],
      [{ worker: 'worker-b' }, 1],
    ])('filters by %j', async (query, n) => {
      const res = await h.call('GET', '/tasks', { query });
      expect(res.status).toBe(200);
      expect(items(res.json)).toHaveLength(n);
    });

    it('filters by a time range', async () => {
      expect(items((await h.call('GET', '/tasks', { query: { from: from.toISOString() } })).json)).toHaveLength(7);
      expect(items((await h.call('GET', '/tasks', { query: { to: from.toISOString() } })).json)).toHaveLength(0);
      expect(
        items(
          (await h.call('GET', '/tasks', { query: { from: String(from.getTime()), to: String(Date.now() + 60_000) } }))
            .json,
        ),
      ).toHaveLength(7);
    });

    it('pages with a cursor, each task exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await h.call('GET', '/tasks', { query: { limit: '3', ...(cursor ? { cursor } : {}) } });
        expect(res.status).toBe(200);
        seen.push(...items(res.json).map((t) => String(t.id)));
        cursor = obj(res.json).nextCursor as string | null;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(new Set(seen).size).toBe(7);
    });

    it.each([
      [{ status: 'Sleeping' }, 'status'],
      [{ status: '99' }, 'status'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '501' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ cursor: 'not-a-cursor' }, 'cursor'],
      [{ from: 'yesterday' }, 'from'],
      [{ from: '2030-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z' }, 'from'],
      [{ type: ['a', 'b'] }, 'type'],
      [{ colour: 'red' }, 'query'],
    ])('refuses %j', async (query, param) => {
      const p = expectProblem(await h.call('GET', '/tasks', { query }), 400);
      expect((p['invalid-params'] as { name: string }[]).map((x) => x.name)).toContain(param);
    });

    it('shows one task with its errors (stack traces) and history (names and numbers); no lease token', async () => {
      const res = await h.call('GET', `/tasks/${ids.error}`);
      expect(res.status).toBe(200);
      const t = obj(res.json);
      expect(t).toMatchObject({ id: ids.error, status: S.Error, statusName: 'Error', attempts: 1 });
      const errors = t.errors as Record<string, unknown>[];
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        message: 'handler exploded',
        kind: 'HandlerError',
        workerId: 'worker-a',
        attempt: 1,
      });
      expect(String(errors[0]!.stack)).toContain('handler exploded');
      const history = t.history as Record<string, unknown>[];
      expect(history.map((e) => e.toName)).toEqual([
        'Created',
        'Processing',
        'Completed',
        'Queued',
        'Assigned',
        'Running',
        'Error',
      ]);
      expect(history.at(-1)).toMatchObject({ from: S.Running, fromName: 'Running', to: S.Error, toName: 'Error' });
      expect(history[0]).toMatchObject({ from: null, fromName: null });

      const running = obj((await h.call('GET', `/tasks/${ids.running}`)).json);
      expect(running.owner).toMatchObject({ workerId: 'worker-b' });
      expect(JSON.stringify(running)).not.toContain('leaseToken');
    });

    it('404s for an unknown id', async () => {
      expectProblem(await h.call('GET', '/tasks/does-not-exist'), 404);
    });
  });

  describe('POST /tasks/{id}/cancel and /retry', () => {
    it('cancels a waiting task at once (200) and requests cancel of a running one (202)', async () => {
      const waiting = obj((await h.call('POST', '/tasks', { body: { type: 'cancel-me' } })).json);
      const res = await h.call('POST', `/tasks/${String(waiting.id)}/cancel`, { body: { reason: 'not needed' } });
      expect(res.status).toBe(200);
      expect(obj(res.json)).toMatchObject({
        outcome: 'cancelled',
        task: { status: S.Cancelled, statusName: 'Cancelled' },
      });
      expect((await h.store.get(String(waiting.id)))!.status).toBe(S.Cancelled);

      await h.store.ingest([{ type: 'long', idempotencyKey: 'long-1', priority: 1000 }]);
      const [c] = await h.store.claim('worker-c');
      await h.store.start(c!.lease);
      const req = await h.call('POST', `/tasks/${c!.task._id}/cancel`);
      expect(req.status).toBe(202);
      expect(obj(req.json)).toMatchObject({ outcome: 'requested', task: { status: S.Running, cancelRequested: true } });
      expect((await h.store.get(c!.task._id))!.cancelRequested).toBe(true);
    });

    it('409s on a finished task and 404s on an unknown one', async () => {
      const created = obj((await h.call('POST', '/tasks', { body: { type: 'done', priority: 2000 } })).json);
      await runToEnd(h.store, 'succeed');
      const p = expectProblem(await h.call('POST', `/tasks/${String(created.id)}/cancel`), 409);
      expect(p.type).toBe('urn:taskmesh:problem:task-finished');
      expectProblem(await h.call('POST', '/tasks/nope/cancel'), 404);
    });

    it('refuses a bad cancel body', async () => {
      const created = obj((await h.call('POST', '/tasks', { body: { type: 'keep' } })).json);
      expectProblem(await h.call('POST', `/tasks/${String(created.id)}/cancel`, { body: { reason: 42 } }), 400);
      expect((await h.store.get(String(created.id)))!.status).toBe(S.Queued);
    });

    it('retries a failed task; 409 for a wrong state or version; 404 for an unknown one', async () => {
      const created = obj((await h.call('POST', '/tasks', { body: { type: 'flaky', priority: 3000 } })).json);
      const id = String(created.id);
      // Still queued: nothing to retry.
      expect(expectProblem(await h.call('POST', `/tasks/${id}/retry`), 409).type).toBe(
        'urn:taskmesh:problem:invalid-state',
      );
      await runToEnd(h.store, 'fail-final');
      const failed = (await h.store.get(id))!;
      expect(failed.status).toBe(S.Error);

      const stale = expectProblem(
        await h.call('POST', `/tasks/${id}/retry`, { body: { expectedVersion: failed.version - 1 } }),
        409,
      );
      expect(stale.type).toBe('urn:taskmesh:problem:version-conflict');
      expect((await h.store.get(id))!.status).toBe(S.Error);

      const res = await h.call('POST', `/tasks/${id}/retry`, { body: { expectedVersion: failed.version } });
      expect(res.status).toBe(200);
      expect(obj(res.json)).toMatchObject({ id, status: S.Retrying, statusName: 'Retrying' });
      expectProblem(await h.call('POST', '/tasks/nope/retry'), 404);
      expectProblem(await h.call('POST', `/tasks/${id}/retry`, { body: { expectedVersion: 'one' } }), 400);
    });
  });
});
