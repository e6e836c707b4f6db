import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexCovers, shapeOf } from '../../lib/store/mongo/coverage.js';
import { WorkerRegistry, workerIndexes, workerQueries } from '../../lib/worker-registry/index.js';
import { openTestDb, type TestDb } from '../support/db.js';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb('registry');
});
afterAll(async () => {
  await t.drop();
});

/** Field names a filter constrains (top level; operators' own keys skipped). */
function filterFields(filter: Record<string, unknown>): string[] {
  return Object.keys(filter).filter((k) => !k.startsWith('$'));
}

describe('worker registry indexes', () => {
  // The test server ignores indexes, so a missing one would never show here: check each query against its declared index.
  it.each(Object.values(workerQueries).map((q) => [q.name, q] as const))(
    '%s is served by its declared index',
    (_name, q) => {
      const filter = (q.filter as (...a: unknown[]) => Record<string, unknown>)(...q.sample);
      const fields = filterFields(filter);
      if (q.index === '_id') {
        expect(fields).toContain('_id');
        return;
      }
      const index = workerIndexes.find((i) => i.name === q.index);
      expect(index, `index ${q.index}`).toBeDefined();
      const keys = Object.keys(index!.key);
      for (const f of [...fields, ...Object.keys(q.sort ?? {})]) expect(keys).toContain(f);
      // The index's leading field is constrained (or sorted on), so it can be used at all.
      expect([...fields, ...Object.keys(q.sort ?? {})]).toContain(keys[0]);
      // And by the equality-sort-range rule, as the store's queries are checked (sort directions included).
      const verdict = indexCovers(index!, shapeOf(filter, q.sort));
      expect(verdict, verdict.why).toEqual({ ok: true });
    },
  );

  it('ensureIndexes declares them all', async () => {
    const r = new WorkerRegistry(t.db);
    await r.ensureIndexes();
    const names = (await r.collection.listIndexes().toArray()).map((i) => i.name as string);
    for (const i of workerIndexes) expect(names).toContain(i.name);
  });
});

describe('worker registry', () => {
  const reg = (id: string) => ({
    id,
    host: { hostname: 'h', pid: 1, platform: 'linux', nodeVersion: 'v20' },
    types: ['echo'],
    concurrency: 2,
  });

  it('registers, beats, stops; lists most recent first and by state', async () => {
    const r = new WorkerRegistry(t.db);
    await r.register(reg('w-a'), new Date(1_000));
    await r.register(reg('w-b'), new Date(2_000));
    await r.beat(reg('w-a'), { state: 'busy', currentTaskIds: ['t1'], processedDelta: 3 }, new Date(3_000));
    expect((await r.list()).map((w) => w._id).slice(0, 2)).toEqual(['w-a', 'w-b']);
    expect((await r.list({ state: ['busy'] })).map((w) => w._id)).toEqual(['w-a']);
    await r.markStopped('w-a', 1, new Date(4_000));
    const a = await r.get('w-a');
    expect(a).toMatchObject({ state: 'stopped', currentTaskIds: [], processed: 4 });
  });

  it('marks stale live workers dead once, and a later beat brings one back', async () => {
    const r = new WorkerRegistry(t.db);
    await r.register(reg('w-stale'), new Date(10_000));
    await r.register(reg('w-fresh'), new Date(100_000));
    const now = new Date(100_500);
    expect(await r.markDead(5_000, now)).toContain('w-stale');
    expect(await r.markDead(5_000, now)).not.toContain('w-stale');
    expect((await r.get('w-fresh'))?.state).toBe('starting');
    await r.beat(reg('w-stale'), { state: 'idle', currentTaskIds: [] }, new Date(101_000));
    expect((await r.get('w-stale'))?.state).toBe('idle');
  });
});
