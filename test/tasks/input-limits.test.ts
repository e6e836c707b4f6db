/**
 * One set of input limits at every door (lib/tasks/input-limits.ts): the admin API's POST /tasks and
 * POST /messages, a queue message through ingest, and a taskctl line all refuse the same inputs for the
 * same reason, and none of them recurses over a hostile document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../lib/ingest/decode.js';
import { MAX_TASK_DEPTH, parseTaskInput, scanDocument } from '../../lib/tasks/input-limits.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { FakeQueue, expectProblem, harness, type Harness } from '../admin/support.js';

/** `[[[...1...]]]` nested n levels: JSON.parse reads it; a recursive validator overflows the stack. */
export function nested(n: number, leaf = '1'): string {
  return `${'['.repeat(n)}${leaf}${']'.repeat(n)}`;
}

/** The inputs the user tried: each is refused at every door, with this reason. */
export const refusedInputs: { name: string; body: string; code: string }[] = [
  { name: '5,000-deep payload', body: `{"type":"echo","payload":${nested(5000)}}`, code: 'PayloadTooDeep' },
  {
    name: '5,000-deep objects',
    body: `{"type":"echo","payload":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    code: 'PayloadTooDeep',
  },
  { name: '$where key', body: '{"type":"echo","payload":{"$where":"sleep(1000)"}}', code: 'ForbiddenKey' },
  { name: 'dotted key', body: '{"type":"echo","payload":{"a.b":1}}', code: 'ForbiddenKey' },
  { name: 'NUL in a key', body: '{"type":"echo","payload":{"a\\u0000b":1}}', code: 'ForbiddenKey' },
  { name: '$-key deep in an array', body: '{"type":"echo","payload":[[{"$gt":1}]]}', code: 'ForbiddenKey' },
  { name: 'operator at the root', body: '{"type":"echo","$set":{"status":3}}', code: 'ForbiddenKey' },
];

describe('input limits', () => {
  it('scans without recursion: 100,000 levels is a violation, not a stack overflow', () => {
    const doc: unknown = JSON.parse(nested(100_000));
    expect(scanDocument(doc)).toMatchObject({ code: 'PayloadTooDeep' });
    expect(scanDocument(JSON.parse(nested(MAX_TASK_DEPTH)))).toBeUndefined();
    expect(scanDocument(JSON.parse(nested(MAX_TASK_DEPTH + 1)))).toMatchObject({ code: 'PayloadTooDeep' });
  });

  it('refuses keys MongoDB would misread and values JSON cannot hold; values may hold $ and dots', () => {
    expect(scanDocument({ a: [{ b: { $ne: 1 } }] })).toMatchObject({ code: 'ForbiddenKey', path: 'a[0].b.$ne' });
    expect(scanDocument({ ['x'.repeat(2000)]: 1 })).toMatchObject({ code: 'ForbiddenKey' });
    expect(scanDocument({ a: () => 1 })).toMatchObject({ code: 'UnsupportedValue', path: 'a' });
    expect(scanDocument({ a: [1, Number.NaN] })).toMatchObject({ code: 'UnsupportedValue', path: 'a[1]' });
    expect(scanDocument({ a: new Map() })).toMatchObject({ code: 'UnsupportedValue' });
    expect(scanDocument({ a: 10n })).toMatchObject({ code: 'UnsupportedValue' });
    expect(scanDocument({ q: '$where a.b \u0000', n: [1, 'x', null, true, { ok: {} }] })).toBeUndefined();
  });

  it('checks size before parsing', () => {
    expect(parseTaskInput('"' + 'x'.repeat(100) + '"', { maxBytes: 50, setting: 'Ingest:MaxBodyBytes' })).toMatchObject(
      {
        ok: false,
        violation: { code: 'BodyTooLarge', detail: expect.stringContaining('Ingest:MaxBodyBytes') },
      },
    );
    expect(parseTaskInput('{', { maxBytes: 50 })).toMatchObject({ ok: false, invalidJson: expect.any(String) });
    expect(parseTaskInput('{"a":1}', { maxBytes: 50 })).toEqual({ ok: true, value: { a: 1 } });
  });

  it('ingest refuses each input with the same reason (a Failed task and a dead letter)', () => {
    for (const input of refusedInputs) {
      const d = decodeMessage(
        { id: 'm1', body: input.body },
        { provider: 'test', queue: 'q' },
        { maxBodyBytes: 1024 * 1024, taskTypeProperty: 'taskType' },
      );
      expect(d.rejection?.code, input.name).toBe(input.code);
      expect(d.task.failedReason, input.name).toMatch(new RegExp(`^${input.code}: `));
    }
  });
});

describe('admin API doors', () => {
  let tdb: TestDb;
  let h: Harness;
  const queue = new FakeQueue();

  beforeAll(async () => {
    tdb = await openTestDb('input_limits');
    h = harness(tdb.db, { ctx: { enqueue: async (m) => ({ messageId: (await queue.send(m)).id }) } });
    await h.store.ensureIndexes();
  });
  afterAll(async () => {
    await tdb.drop();
  });

  it('POST /tasks refuses each input with a 4xx problem naming the reason, and stores nothing', async () => {
    for (const input of refusedInputs) {
      const res = await h.call('POST', '/tasks', { body: input.body });
      const p = expectProblem(res, 400);
      expect(p.code, input.name).toBe(input.code);
      expect(String(p.detail), input.name).toContain(input.code);
    }
    expect(await tdb.db.collection('tasks').countDocuments()).toBe(0);
  });

  it('POST /tasks refuses a task larger than the task limit (Ingest:MaxBodyBytes) with a 413', async () => {
    const small = harness(tdb.db, { router: { maxTaskBytes: 1000 } });
    const res = await small.call('POST', '/tasks', { body: { type: 'echo', payload: 'x'.repeat(2000) } });
    expect(expectProblem(res, 413).code).toBe('BodyTooLarge');
    const ok = await small.call('POST', '/tasks', { body: { type: 'echo', payload: 'x'.repeat(500) } });
    expect(ok.status).toBe(201);
  });

  it('POST /tasks refuses a task type the message contract refuses', async () => {
    for (const type of ['$where', ' spaced', 'a b', '']) {
      const res = await h.call('POST', '/tasks', { body: { type } });
      expectProblem(res, 400);
    }
  });

  it('POST /messages refuses the same inputs, and any other request body nested too deep', async () => {
    for (const input of refusedInputs) {
      const res = await h.call('POST', '/messages', { body: `{"body":${input.body}}` });
      expect(expectProblem(res, 400).code, input.name).toBe(input.code);
    }
    expectProblem(await h.call('POST', '/tasks/x/cancel', { body: `{"reason":${nested(5000, '"r"')}}` }), 400);
    expectProblem(await h.call('POST', '/queues/x/dead-letters/replay', { body: nested(5000) }), 400);
    expect(queue.main).toHaveLength(0);
    // Message properties may have dotted names: only task input gets the key rules.
    const ok = await h.call('POST', '/messages', { body: { body: { type: 'echo' }, properties: { 'x.y': 'z' } } });
    expect(ok.status).toBe(202);
    expect(queue.main).toHaveLength(1);
  });
});
