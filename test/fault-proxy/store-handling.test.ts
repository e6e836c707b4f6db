/**
 * What the store policy (lib/db/resilience.ts) and ingest's store retry do with each fault the proxy
 * injects: throttling (16500) retried no sooner than its RetryAfterMs hint and outside the circuit breaker,
 * then a typed DatabaseThrottledError; step-down and shutdown codes retried; a lost reply to an idempotent
 * ingest retried and the task stored exactly once (a duplicate, never a lost write).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Collection } from 'mongodb';
import {
  createStorePolicy,
  DatabaseThrottledError,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
} from '../../lib/db/index.js';
import { throttleOf } from '../../lib/db/throttling.js';
import { createIngestPolicies } from '../../lib/ingest/policies.js';
import { silentLogger } from '../../lib/log/logger.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { openProxiedDb, rejection, type ProxiedDb } from './support.js';

describe('store handling of database faults (through the fault proxy)', () => {
  let t: ProxiedDb;
  let rows: Collection<{ _id: string; n?: number }>;

  beforeEach(async () => {
    t = await openProxiedDb('fp_handling');
    rows = (await t.client({ serverSelectionTimeoutMS: 5_000 })).db(t.direct.name).collection('rows');
  });
  afterEach(() => t.close());

  it('throttling: each retry waits at least RetryAfterMs; the write applies once; the circuit stays closed', async () => {
    const policy = createStorePolicy(silentLogger, { breakerThreshold: 2, initialDelayMs: 1, maxDelayMs: 5 });
    await t.proxy.addRule({
      match: { command: 'insert', collection: 'rows' },
      fault: { kind: 'error', code: 16500, retryAfterMs: 150 },
      count: 3,
    });
    const began = Date.now();
    await policy.execute(() => rows.insertOne({ _id: 'a' }));
    // Three hints of 150 ms were honoured (a lower bound: the waits happened, whatever the machine's speed).
    expect(Date.now() - began).toBeGreaterThanOrEqual(3 * 150);
    expect(policy.isOpen()).toBe(false);
    expect(await t.direct.db.collection('rows').countDocuments({ _id: 'a' } as object)).toBe(1);
  });

  it('throttling past every retry: a typed DatabaseThrottledError with the hint, an "unavailable" to callers', async () => {
    const policy = createStorePolicy(silentLogger, { throttleRetries: 2, initialDelayMs: 1, maxDelayMs: 5 });
    await t.proxy.addRule({ match: { command: 'find' }, fault: { kind: 'error', code: 16500, retryAfterMs: 20 } });
    const e = await rejection(
      policy.execute(() => rows.findOne({ _id: 'x' })),
      DatabaseThrottledError,
    );
    expect(e).toBeInstanceOf(DatabaseUnavailableError);
    expect(e.retryAfterMs).toBe(20);
    expect(e.message).toContain('RetryAfterMs');
    expect(isDatabaseUnavailable(e)).toBe(true);
    expect(policy.isOpen()).toBe(false);
    expect((await t.proxy.counters()).faults.error).toBe(3);
  });

  it('reads the hint from every shape Cosmos DB uses (command error, write error, bulk write error)', async () => {
    await t.proxy.addRule({ fault: { kind: 'error', code: 16500, retryAfterMs: 77 }, count: 3 });
    const seen = await Promise.all([
      rows.insertOne({ _id: 'b' }).catch((e: unknown) => e),
      rows.insertMany([{ _id: 'c' }, { _id: 'd' }]).catch((e: unknown) => e),
      rows.findOne({}).catch((e: unknown) => e),
    ]);
    expect(seen.map((e) => throttleOf(e)?.retryAfterMs)).toEqual([77, 77, 77]);
  });

  it.each([91, 189, 10107, 11600])(
    'error %i on a write is retried by the store policy and applies once',
    async (code) => {
      const policy = createStorePolicy(silentLogger, { initialDelayMs: 1, maxDelayMs: 5 });
      await t.proxy.addRule({ match: { command: 'update' }, fault: { kind: 'error', code }, count: 2 });
      await t.direct.db.collection('rows').insertOne({ _id: 'u', n: 0 } as object);
      await policy.execute(() => rows.updateOne({ _id: 'u', n: 0 }, { $inc: { n: 1 } }));
      expect(await t.direct.db.collection('rows').findOne({ _id: 'u' } as object)).toEqual({ _id: 'u', n: 1 });
    },
  );

  it('a lost reply to an ingest is retried: the task exists once, reported as a duplicate, never lost', async () => {
    const client = await t.client({ serverSelectionTimeoutMS: 5_000 });
    const store = new MongoTaskStore(client.db(t.direct.name), { maxRetries: 1 });
    await store.ensureIndexes();
    const policies = createIngestPolicies({
      retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
      messageTimeoutMs: 10_000,
      concurrency: 1,
    });
    await t.proxy.addRule({
      match: { command: 'insert', collection: 'tasks' },
      fault: { kind: 'dropReply' },
      count: 1,
    });
    const task = { type: 'echo', payload: { i: 1 }, idempotencyKey: 'lost-reply-1' };
    const r = await policies.store.execute(() => store.ingest([task], { by: 'test' }));
    expect(r.items).toHaveLength(1);
    expect(await t.direct.db.collection('tasks').countDocuments({ idempotencyKey: 'lost-reply-1' })).toBe(1);
    expect((await t.proxy.counters()).replies.dropped).toBe(1);
  });

  it('throttled ingest is retried after the hint and stores the batch once', async () => {
    const client = await t.client({ serverSelectionTimeoutMS: 5_000 });
    const store = new MongoTaskStore(client.db(t.direct.name), { maxRetries: 1 });
    await store.ensureIndexes();
    const policies = createIngestPolicies({
      retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
      messageTimeoutMs: 10_000,
      concurrency: 1,
    });
    await t.proxy.addRule({
      match: { command: 'insert', collection: 'tasks' },
      fault: { kind: 'error', code: 16500, retryAfterMs: 100 },
      count: 2,
    });
    const tasks = Array.from({ length: 5 }, (_, i) => ({ type: 'echo', payload: { i }, idempotencyKey: `thr-${i}` }));
    const began = Date.now();
    const r = await policies.store.execute(() => store.ingest(tasks, { by: 'test' }));
    expect(Date.now() - began).toBeGreaterThanOrEqual(200);
    expect(r.inserted).toBe(5);
    expect(await t.direct.db.collection('tasks').countDocuments()).toBe(5);
  });
});
