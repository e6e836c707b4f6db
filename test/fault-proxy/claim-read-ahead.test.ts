/**
 * Batch claims reading ahead (lib/store/mongo/claim-read-ahead.ts), against the database, counting the reads
 * that go through the fault proxy:
 * - while claims keep finding full batches, one read serves several claims, and every task is claimed once;
 * - a kept candidate that changed since it was read (another worker claimed it) is never claimed as read;
 * - a higher-priority task ingested through the same store is claimed before the kept candidates;
 * - kept candidates are not used past their age limit, so another process's urgent task waits no longer;
 * - large documents get no read-ahead: the bytes read at once stay bounded.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import type { ClaimReadAheadOptions } from '../../lib/store/mongo/claim-read-ahead.js';
import { openProxiedDb, type ProxiedDb } from './support.js';

describe('batch claims read ahead', () => {
  let t: ProxiedDb;
  /** The same database, not through the proxy: another worker, or changes behind the store's back. */
  let direct: MongoTaskStore;

  const proxied = async (readAhead?: ClaimReadAheadOptions) => {
    const client = await t.client({ serverSelectionTimeoutMS: 5_000 });
    return new MongoTaskStore(client.db(t.direct.name), readAhead ? { claimReadAhead: readAhead } : {});
  };
  const finds = async () => (await t.proxy.counters()).requests.byCommand.find ?? 0;
  const ingestMany = (store: MongoTaskStore, n: number, extra: { priority?: number; blob?: string } = {}) =>
    store.ingest(
      Array.from({ length: n }, (_, i) => ({
        type: 'a',
        payload: { i, ...(extra.blob ? { blob: extra.blob } : {}) },
        ...(extra.priority !== undefined ? { priority: extra.priority } : {}),
      })),
    );

  beforeEach(async () => {
    t = await openProxiedDb('fp_readahead');
    direct = new MongoTaskStore(t.direct.db);
    await direct.ensureIndexes();
  });
  afterEach(() => t.close());

  it('while claims find full batches, one read serves several of them; each task is claimed once', async () => {
    const store = await proxied();
    await ingestMany(direct, 160);
    const before = await finds();
    const won: string[] = [];
    for (let i = 0; i < 10; i++) {
      const claimed = await store.claim('w1', { limit: 16 });
      expect(claimed).toHaveLength(16);
      won.push(...claimed.map((c) => c.task._id));
    }
    const reads = (await finds()) - before;
    expect(new Set(won).size).toBe(160);
    // Reads of 1, 2, 4 and 3 batches (the rest): four reads for ten claims.
    expect(reads).toBeLessThan(10);
    const stored = await direct.tasks.find({}).toArray();
    expect(stored.every((d) => d.owner?.workerId === 'w1' && d.attempts === 1)).toBe(true);
  });

  it('a kept candidate another worker claimed since the read is not claimed again', async () => {
    const store = await proxied();
    await ingestMany(direct, 64);
    const first = [...(await store.claim('w1', { limit: 16 })), ...(await store.claim('w1', { limit: 16 }))];
    // The second claim read 32 and kept 16. Another worker (another process) claims what is left.
    const other = await direct.claim('w2', { limit: 32 });
    expect(other).toHaveLength(32);
    const third = await store.claim('w1', { limit: 16 });
    expect(third).toHaveLength(0);
    const mine = new Set([...first, ...third].map((c) => c.task._id));
    for (const c of other) expect(mine.has(c.task._id)).toBe(false);
    const stored = await direct.tasks.find({}).toArray();
    expect(stored.filter((d) => d.owner?.workerId === 'w2')).toHaveLength(32);
    expect(stored.every((d) => d.attempts === 1)).toBe(true);
  });

  it('a higher-priority task ingested through the same store is claimed before the kept candidates', async () => {
    const store = await proxied();
    await ingestMany(store, 64);
    await store.claim('w1', { limit: 16 });
    await store.claim('w1', { limit: 16 }); // keeps 16
    const urgent = await store.ingest([{ type: 'a', payload: { urgent: true }, priority: 9 }]);
    const next = await store.claim('w1', { limit: 16 });
    expect(next.map((c) => c.task._id)).toContain(urgent.items[0]!.taskId);
    expect(next[0]!.task._id).toBe(urgent.items[0]!.taskId);
  });

  it("kept candidates are not used past their age: another process's urgent task waits no longer", async () => {
    const store = await proxied({ maxAgeMs: 50 });
    await ingestMany(direct, 64);
    await store.claim('w1', { limit: 16 });
    await store.claim('w1', { limit: 16 }); // keeps 16
    const urgent = await direct.ingest([{ type: 'a', payload: { urgent: true }, priority: 9 }]);
    await sleep(80);
    const next = await store.claim('w1', { limit: 16 });
    expect(next[0]!.task._id).toBe(urgent.items[0]!.taskId);
  });

  it('large documents get no read-ahead: each claim reads one batch', async () => {
    const store = await proxied({ maxBytes: 256 * 1024 });
    // About 32 KiB per task: 16 of them already fill the 256 KiB budget twice.
    await ingestMany(direct, 64, { blob: 'x'.repeat(32 * 1024) });
    const before = await finds();
    for (let i = 0; i < 4; i++) expect(await store.claim('w1', { limit: 16 })).toHaveLength(16);
    expect((await finds()) - before).toBe(4);
  });
});
