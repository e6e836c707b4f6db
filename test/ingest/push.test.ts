/**
 * The push path (`ingestPushed`): messages a platform already received, e.g. the Service Bus trigger.
 * Real database; the platform settles, so only the outcomes and the stored tasks are checked.
 */
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/load.js';
import { IngestStoreError } from '../../lib/ingest/errors.js';
import { createIngestPipeline, IngestPipeline, type PushedMessage } from '../../lib/ingest/index.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';

const source = { provider: 'service-bus', queue: 'tasks' };
const msg = (id: string, body: unknown, extra: Partial<PushedMessage> = {}): PushedMessage => ({
  id,
  body,
  deliveryCount: 1,
  enqueuedAt: new Date(),
  ...extra,
});

describe('ingestPushed', () => {
  let t: TestDb;
  let store: MongoTaskStore;
  let pipeline: IngestPipeline;
  const notified: number[] = [];

  beforeAll(async () => {
    t = await openTestDb('push');
    store = new MongoTaskStore(t.db);
    await store.ensureIndexes();
    const config = loadConfig({
      env: {},
      overrides: { Ingest: { RetryBaseDelay: 5, RetryAttempts: 1 } },
    });
    pipeline = createIngestPipeline(config, {
      store,
      knownTaskTypes: ['echo', 'report'],
      onTasksStored: (n) => {
        notified.push(n);
      },
    });
  });
  afterAll(async () => t?.drop());
  beforeEach(async () => {
    await store.tasks.deleteMany({});
    notified.length = 0;
  });

  it('stores valid messages, reports and records invalid ones, and counts redeliveries as duplicates', async () => {
    const batch = [
      msg('m1', JSON.stringify({ type: 'echo', payload: { a: 1 } })),
      msg('m2', new TextEncoder().encode(JSON.stringify({ type: 'report', payload: 'bytes' }))),
      msg('m3', { type: 'echo', payload: 'already parsed by the host' }),
      msg('m4', '{"type":"echo","payload":{"$where":"1"}}'),
      msg('m5', JSON.stringify({ type: 'nope' })),
      msg('m6', new Uint8Array([0xff, 0xfe, 0x00])),
    ];
    const r = await pipeline.ingestPushed(batch, source);
    expect(r).toMatchObject({ stored: 3, duplicates: 0, rejected: 3 });
    expect(r.outcomes.map((o) => [o.id, o.outcome, o.outcome === 'rejected' ? o.reason : undefined])).toEqual([
      ['m1', 'stored', undefined],
      ['m2', 'stored', undefined],
      ['m3', 'stored', undefined],
      ['m4', 'rejected', 'ForbiddenKey'],
      ['m5', 'rejected', 'UnknownTaskType'],
      ['m6', 'rejected', 'InvalidEncoding'],
    ]);
    expect(notified).toEqual([3]);
    for (const o of r.outcomes) {
      const task = await store.get(o.taskId);
      expect(task!.status).toBe(o.outcome === 'rejected' ? S.Failed : S.Queued);
      expect(task!.source).toEqual({ ...source, messageId: o.id });
    }

    // The platform redelivers the same messages (say, the function crashed before completing them).
    const again = await pipeline.ingestPushed(batch, source);
    expect(again).toMatchObject({ stored: 0, duplicates: 3, rejected: 3 });
    expect(again.outcomes.map((o) => o.taskId)).toEqual(r.outcomes.map((o) => o.taskId));
    expect(await store.tasks.countDocuments({})).toBe(6);
    expect(notified).toEqual([3]);
  });

  it('refuses a host-parsed body nested too deep to serialize (PayloadTooDeep), never a stack overflow', async () => {
    const deep: unknown = JSON.parse(`${'['.repeat(100_000)}1${']'.repeat(100_000)}`);
    const r = await pipeline.ingestPushed(
      [msg('deep', { type: 'echo', payload: deep }), msg('ok', '{"type":"echo"}')],
      source,
    );
    expect(r.outcomes.map((o) => [o.id, o.outcome, o.outcome === 'rejected' ? o.reason : undefined])).toEqual([
      ['deep', 'rejected', 'PayloadTooDeep'],
      ['ok', 'stored', undefined],
    ]);
  });

  it('throws IngestStoreError when the store cannot be reached, so the platform redelivers', async () => {
    const down = new MongoClient('mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200&connectTimeoutMS=200');
    try {
      const broken = new IngestPipeline({
        store: new MongoTaskStore(down.db('nowhere')),
        batchSize: 16,
        concurrency: 4,
        messageTimeoutMs: 5_000,
        receiveWaitMs: 0,
        maxBodyBytes: 65_536,
        retry: { attempts: 1, baseDelayMs: 5, maxDelayMs: 10 },
      });
      const err = await broken.ingestPushed([msg('x1', '{"type":"echo"}')], source).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(IngestStoreError);
      expect((err as IngestStoreError).details).toEqual({ transient: true, queue: 'tasks', messages: 1 });
    } finally {
      await down.close();
    }
  });

  it('validates its input at the boundary', async () => {
    await expect(
      pipeline.ingestPushed([{ id: '', body: '{}', deliveryCount: 1, enqueuedAt: new Date() }], source),
    ).rejects.toThrow();
    await expect(pipeline.ingestPushed([], { provider: '', queue: 'q' })).rejects.toThrow();
    expect(await pipeline.ingestPushed([], source)).toEqual({ outcomes: [], stored: 0, duplicates: 0, rejected: 0 });
  });
});
