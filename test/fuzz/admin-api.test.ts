/**
 * Fuzzing the admin API (every route of its table): generated bodies, queries, ids and headers. Property:
 * never a 5xx, every refusal an RFC 9457 problem, and no stored task from refused input (a stored task's
 * payload always passes the shared input limits).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRouteTable } from '../../lib/admin/router.js';
import { taskTypeSchema } from '../../lib/ingest/contract.js';
import { parseTaskInput, scanDocument } from '../../lib/tasks/input-limits.js';
import { harness, type Harness, type Parsed } from '../admin/support.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { bodyText, fuzzParams, headerValue, idSegment, queryValue } from './arbitraries.js';

/** The route table's paths with each {param} replaced by a generated segment. */
const requestFor = (route: string) =>
  fc
    .record({
      ids: fc.array(idSegment, { minLength: 3, maxLength: 3 }),
      query: fc.dictionary(
        fc.oneof(
          fc.constantFrom('status', 'type', 'worker', 'from', 'to', 'limit', 'cursor', 'max', 'code'),
          fc.string({ maxLength: 8 }),
        ),
        queryValue,
        { maxKeys: 4 },
      ),
      contentType: fc.option(headerValue, { nil: undefined }),
      idempotencyKey: fc.option(headerValue, { nil: undefined }),
      body: fc.option(bodyText, { nil: undefined }),
    })
    .map((r) => {
      const [method, template] = route.split(' ') as [string, string];
      let i = 0;
      const path = template.replace(/\{\w+\}/g, () => r.ids[i++] ?? 'x');
      return { method, path, ...r };
    });

describe('fuzz: admin API', () => {
  let tdb: TestDb;
  let h: Harness;

  beforeAll(async () => {
    tdb = await openTestDb('fuzz_admin');
    h = harness(tdb.db);
    await h.store.ensureIndexes();
    h.queue.addDeadLetters(3);
  });
  afterAll(async () => {
    await tdb?.drop();
  });

  function expectWellFormed(res: Parsed, what: string): void {
    expect(res.status, what).toBeLessThan(500);
    if (res.status >= 400) {
      expect(res.headers['content-type'], what).toBe('application/problem+json');
      expect((res.json as { status?: unknown }).status, what).toBe(res.status);
    }
  }

  it.each(adminRouteTable.map((r) => [r]))('%s: never a 5xx, refusals are problems', async (route) => {
    const tasks = tdb.db.collection('tasks');
    await fc.assert(
      fc.asyncProperty(requestFor(route), async (r) => {
        const before = await tasks.countDocuments();
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.idempotencyKey !== undefined) headers['idempotency-key'] = r.idempotencyKey;
        const sentMessages = h.enqueued.length;
        const res = await h.call(r.method, r.path, {
          query: r.query,
          headers,
          ...(r.body !== undefined ? { body: r.body } : {}),
        });
        const what = `${r.method} ${r.path} -> ${res.status} ${res.body.slice(0, 300)}`;
        expectWellFormed(res, what);
        if (r.method === 'POST' && r.path === '/tasks') {
          const after = await tasks.countDocuments();
          if (res.status >= 400) expect(after, what).toBe(before);
          if (res.status === 201) {
            const id = (res.json as { id: string }).id;
            const stored = await h.store.get(id);
            expect(scanDocument(stored!.payload), what).toBeUndefined();
            expect(taskTypeSchema.safeParse(stored!.type).success, what).toBe(true);
          }
        }
        if (r.path === '/messages' && h.enqueued.length > sentMessages) {
          const body = h.enqueued.at(-1)!.body;
          const parsed = parseTaskInput(body, { maxBytes: 1024 * 1024 });
          expect(parsed.ok || parsed.invalidJson !== undefined, what).toBe(true);
        }
      }),
      fuzzParams(route.startsWith('POST') ? 1 : 0.3),
    );
  });

  it('POST /tasks with envelope-shaped bodies: created tasks pass the limits; refused ones store nothing', async () => {
    const tasks = tdb.db.collection('tasks');
    await fc.assert(
      fc.asyncProperty(bodyText, async (body) => {
        const before = await tasks.countDocuments();
        const res = await h.call('POST', '/tasks', { body });
        expectWellFormed(res, `${res.status} ${res.body.slice(0, 300)}`);
        if (res.status >= 400) expect(await tasks.countDocuments()).toBe(before);
        else expect(scanDocument((res.json as { payload: unknown }).payload)).toBeUndefined();
      }),
      fuzzParams(2),
    );
  });
});
