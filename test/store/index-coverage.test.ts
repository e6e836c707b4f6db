import { describe, expect, it } from 'vitest';
import { queries } from '../../lib/store/mongo/queries.js';
import { writes } from '../../lib/store/mongo/writes.js';
import { taskIndexes, taskKeyIndexes } from '../../lib/store/mongo/indexes.js';
import { indexCovers, shapeOf } from '../../lib/store/mongo/coverage.js';
import {
  orderingKeyIndexes,
  orderingKeyQueries,
  orderingKeyWrites,
} from '../../lib/store/mongo/ordering-statements.js';

const ID_INDEX = { name: '_id', key: { _id: 1 as const }, why: 'primary key' };

/** Every read, and every write that has a filter (an insert has none: the _id index makes it idempotent). */
const statements = [
  ...Object.values(queries).map((q) => [`read ${q.name}`, q] as const),
  ...Object.values(writes).flatMap((w) => (w.kind === 'insert' ? [] : [[`write ${w.name}`, w] as const])),
];

/** The ordering keys' collection (lib/store/mongo/ordering-statements.ts), against its own indexes. */
const keyStatements = [
  ...Object.values(orderingKeyQueries).map((q) => [`read ${q.name}`, q] as const),
  ...Object.values(orderingKeyWrites).map((w) => [`write ${w.name}`, { ...w, sort: undefined }] as const),
];

describe('every ordering-key query and write is served by a declared index', () => {
  it.each(keyStatements)('%s', (_name, q) => {
    const filter = (q.filter as (...a: unknown[]) => Record<string, unknown>)(...q.sample);
    const shape = shapeOf(filter, q.sort);
    if (q.index === '_id') {
      expect([...shape.equality, ...shape.multi, ...shape.range, ...shape.sort.map(([f]) => f)]).toContain('_id');
      return;
    }
    const index = orderingKeyIndexes.find((i) => i.name === q.index);
    expect(index, `query ${q.name} names index ${q.index}, which is not declared`).toBeDefined();
    const verdict = indexCovers(index!, shape);
    expect(verdict, verdict.why).toEqual({ ok: true });
  });
});

describe('every store query is served by a declared index', () => {
  it.each(statements)('%s', (_name, q) => {
    const filter = (q.filter as (...a: unknown[]) => Record<string, unknown>)(...q.sample);
    const shape = shapeOf(filter, q.sort);
    if (q.index === '_id') {
      // A point lookup on the primary key: the other predicates filter at most the one document.
      expect([...shape.equality, ...shape.multi]).toContain('_id');
      return;
    }
    const index = taskIndexes.find((i) => i.name === q.index);
    expect(index, `query ${q.name} names index ${q.index}, which is not declared`).toBeDefined();
    const verdict = indexCovers(index!, shape);
    expect(verdict, verdict.why).toEqual({ ok: true });
  });

  it('the checker itself rejects an index that does not serve a query', () => {
    const shape = shapeOf({ status: 20, nextAttemptAt: { $lte: new Date() } }, { priority: -1 });
    expect(indexCovers({ key: { priority: -1, status: 1 } }, shape).ok).toBe(false);
    expect(indexCovers({ key: { status: 1, priority: 1, nextAttemptAt: 1 } }, shape).ok).toBe(true); // reversed sort is fine
    expect(indexCovers({ key: { status: 1, createdAt: 1, priority: -1, nextAttemptAt: 1 } }, shape).ok).toBe(false);
    expect(indexCovers({ key: { status: 1, priority: -1 } }, shape).ok).toBe(false); // range field missing
    expect(indexCovers(ID_INDEX, shapeOf({ _id: 'a' })).ok).toBe(true);
    // $in after the sort is read from the index; missing from the index it is not.
    const typed = shapeOf({ status: { $in: [20, 25] }, type: { $in: ['a'] } }, { priority: -1 });
    expect(indexCovers({ key: { status: 1, priority: -1, type: 1 } }, typed).ok).toBe(true);
    expect(indexCovers({ key: { status: 1, priority: -1 } }, typed).ok).toBe(false);
  });

  it('task_keys: kept keys are read by _id only, and forgotten by a TTL index on forgetAt', () => {
    // keptKeys (lib/store/mongo/task-keys.ts) reads { _id: { $in } }: the primary key. purgeKeepingKeys sets forgetAt.
    expect(taskKeyIndexes).toEqual([expect.objectContaining({ key: { forgetAt: 1 }, expireAfterSeconds: 0 })]);
  });

  it('index names are unique', () => {
    expect(new Set(taskIndexes.map((i) => i.name)).size).toBe(taskIndexes.length);
  });
});
