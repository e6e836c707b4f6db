/**
 * The pull pipeline end to end, over both queue providers (MNS against the local peer, Storage Queue
 * against Azurite) and the real database.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MongoClient } from 'mongodb';
import { IngestPipeline, type IngestPipelineOptions } from '../../lib/ingest/index.js';
import { INVALID_MESSAGE_TYPE } from '../../lib/ingest/decode.js';
import {
  DEAD_LETTER_DESCRIPTION_PROPERTY,
  DEAD_LETTER_REASON_PROPERTY,
  type QueueProvider,
} from '../../lib/queues/provider.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { messageIdempotencyKey, taskIdFor } from '../../lib/store/ids.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { drain, startMnsKit, storageQueueKit, type ProviderKit } from '../support/queue-providers.js';

const kits: { name: string; start: () => Promise<ProviderKit> }[] = [
  { name: 'Alibaba MNS (local peer)', start: startMnsKit },
  { name: 'Azure Storage Queue (Azurite)', start: async () => storageQueueKit() },
];

const baseOptions = {
  batchSize: 16,
  concurrency: 4,
  messageTimeoutMs: 20_000,
  receiveWaitMs: 2_000,
  maxBodyBytes: 2_048,
  retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
} satisfies Partial<IngestPipelineOptions>;

const envelope = (type: string, payload: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type, payload, ...extra });

/** A provider whose acknowledgements never happen: the process "dies" between the write and the ack. */
function crashingBeforeAck(p: QueueProvider): QueueProvider {
  return new Proxy(p, {
    get(target, prop) {
      if (prop === 'complete')
        return async () => {
          throw new Error('simulated crash between store and acknowledgement');
        };
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe.each(kits)('ingest pipeline over $name', ({ start }) => {
  let kit: ProviderKit;
  let t: TestDb;
  let store: MongoTaskStore;

  beforeAll(async () => {
    kit = await start();
    t = await openTestDb('ingest');
    store = new MongoTaskStore(t.db, { maxRetries: 3 });
    await store.ensureIndexes();
  });
  afterAll(async () => {
    await kit?.stop();
    await t?.drop();
  });
  beforeEach(async () => {
    await store.tasks.deleteMany({});
  });

  const allTasks = () => store.tasks.find({}).toArray();

  async function fresh(opts: Partial<IngestPipelineOptions> & { visibilityTimeoutMs?: number } = {}) {
    const provider = kit.make({
      ...(opts.visibilityTimeoutMs ? { visibilityTimeoutMs: opts.visibilityTimeoutMs } : {}),
    });
    await provider.ensureQueues();
    const pipeline = new IngestPipeline({ ...baseOptions, store, provider, ...opts });
    return { provider, pipeline };
  }

  it('stores a batch as Queued tasks through the subscriber flow and completes the messages', async () => {
    const stored: number[] = [];
    const { provider, pipeline } = await fresh({
      onTasksStored: (n) => {
        stored.push(n);
      },
    });
    const sent = await provider.sendBatch([
      { body: envelope('email.send', { to: 'a@example.com', html: '<p>Hi & bye</p>' }) },
      {
        body: envelope(
          'report',
          { year: 2026 },
          { priority: 7, maxRetries: 1, timeout: '00:01:00', notBefore: '2030-01-01T00:00:00Z' },
        ),
      },
      { body: envelope('echo', 'ünïcødé 漢字') },
    ]);
    const r = await pipeline.pullOnce();
    expect(r).toMatchObject({
      received: 3,
      stored: 3,
      duplicates: 0,
      rejected: 0,
      completed: 3,
      deadLettered: 0,
      abandoned: 0,
      settleFailures: 0,
    });
    expect(stored).toEqual([3]);

    const tasks = await allTasks();
    expect(tasks).toHaveLength(3);
    for (const task of tasks) {
      expect(task.status).toBe(S.Queued);
      expect(task.history.map((h) => h.to)).toEqual([S.Created, S.Processing, S.Completed, S.Queued]);
      expect(task.source).toMatchObject({ provider: provider.kind, queue: provider.queueName });
      expect(sent.map((s) => s.id)).toContain(task.source!.messageId);
    }
    const byType = new Map(tasks.map((x) => [x.type, x]));
    expect(byType.get('email.send')!.payload).toEqual({ to: 'a@example.com', html: '<p>Hi & bye</p>' });
    expect(byType.get('echo')!.payload).toBe('ünïcødé 漢字');
    expect(byType.get('report')).toMatchObject({
      priority: 7,
      maxRetries: 1,
      timeoutMs: 60_000,
      nextAttemptAt: new Date('2030-01-01T00:00:00Z'),
    });
    expect(await provider.receive({ maxMessages: 16, waitMs: 1_000 })).toEqual([]);
  });

  it('dead-letters every kind of bad input with its reason, records it as Failed, and stores the good ones', async () => {
    const { provider, pipeline } = await fresh({ knownTaskTypes: ['good', 'other'] });
    const bad: Record<string, string> = {
      InvalidJson: '{"type": "good", "payload": ',
      SchemaViolation: JSON.stringify({ type: 'good', payload: {}, priority: 'high' }),
      BodyTooLarge: envelope('good', { blob: 'x'.repeat(3_000) }),
      'ForbiddenKey($)': envelope('good', { filter: { status: { $ne: null } } }),
      'ForbiddenKey(.)': envelope('good', { deep: [{ ok: 1 }, { 'a.b': 2 }] }),
      UnknownTaskType: envelope('mystery', {}),
      MissingTaskType: JSON.stringify({ order: 42 }),
    };
    const good = [
      envelope('good', { n: 1 }),
      envelope('other', { n: 2 }),
      envelope('good', { n: 3, text: '$ and . in values are fine' }),
    ];
    const sent = await provider.sendBatch([...Object.values(bad), ...good].map((body) => ({ body })));
    const idOf = new Map(sent.map((s, i) => [s.id, [...Object.keys(bad), 'good', 'good', 'good'][i]!]));

    const r = await pipeline.pullOnce();
    expect(r).toMatchObject({
      received: 10,
      stored: 3,
      rejected: 7,
      deadLettered: 7,
      completed: 3,
      abandoned: 0,
      settleFailures: 0,
    });

    const tasks = await allTasks();
    expect(tasks).toHaveLength(10);
    const queued = tasks.filter((x) => x.status === S.Queued);
    expect(queued.map((x) => (x.payload as { n: number }).n).sort()).toEqual([1, 2, 3]);
    const failed = tasks.filter((x) => x.status === S.Failed);
    expect(failed).toHaveLength(7);
    for (const f of failed) {
      const expectedCode = idOf.get(f.source!.messageId!)!.replace(/\(.*\)$/, '');
      expect(f.reason).toMatch(new RegExp(`^${expectedCode}: `));
      expect(f.history.map((h) => h.to)).toEqual([S.Created, S.Processing, S.Failed]);
      expect(typeof (f.payload as { rawBody: string }).rawBody).toBe('string');
    }
    expect(failed.find((f) => f.reason!.startsWith('UnknownTaskType'))!.type).toBe('mystery');
    expect(failed.find((f) => f.reason!.startsWith('InvalidJson'))!.type).toBe(INVALID_MESSAGE_TYPE);

    const dead = await drain((o) => provider.receiveDeadLetters(o), 7);
    expect(dead).toHaveLength(7);
    const reasons = dead.map((d) => d.properties?.[DEAD_LETTER_REASON_PROPERTY]).sort();
    expect(reasons).toEqual([
      'BodyTooLarge',
      'ForbiddenKey',
      'ForbiddenKey',
      'InvalidJson',
      'MissingTaskType',
      'SchemaViolation',
      'UnknownTaskType',
    ]);
    for (const d of dead) {
      expect(Object.values(bad)).toContain(d.body);
      expect(String(d.properties?.[DEAD_LETTER_DESCRIPTION_PROPERTY])).not.toBe('');
    }
    expect(await provider.receive({ maxMessages: 16, waitMs: 1_000 })).toEqual([]);
  });

  it('takes a bare payload with the type from a message property or the configured default', async () => {
    const { provider, pipeline } = await fresh({ defaultTaskType: 'webhook' });
    await provider.send({ body: JSON.stringify({ event: 'push', repo: 'x' }) });
    await provider.send({ body: '[1,2,3]' });
    const r = await pipeline.pullOnce();
    expect(r).toMatchObject({ stored: 2, rejected: 0 });
    const tasks = await allTasks();
    expect(tasks.map((x) => x.type)).toEqual(['webhook', 'webhook']);
    expect(tasks.map((x) => x.payload)).toEqual(expect.arrayContaining([{ event: 'push', repo: 'x' }, [1, 2, 3]]));
  });

  it('one task per idempotency key: a producer retry is counted as a duplicate and still acknowledged', async () => {
    const { provider, pipeline } = await fresh();
    await provider.sendBatch([
      { body: envelope('pay', { amount: 5 }, { idempotencyKey: 'order-17' }) },
      { body: envelope('pay', { amount: 5 }, { idempotencyKey: 'order-17' }) },
    ]);
    const r = await drainPulls(pipeline, 2);
    expect(r).toMatchObject({ stored: 1, duplicates: 1, completed: 2 });
    const tasks = await allTasks();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ idempotencyKey: 'order-17', _id: taskIdFor('order-17') });
  });

  it('a crash between the store and the acknowledgement redelivers the message and creates no second task', async () => {
    const { provider } = await fresh({ visibilityTimeoutMs: 1_000 });
    const sent = await provider.send({ body: envelope('once', { n: 1 }) });
    const crashing = new IngestPipeline({ ...baseOptions, store, provider: crashingBeforeAck(provider) });
    const first = await crashing.pullOnce();
    expect(first).toMatchObject({ received: 1, stored: 1, completed: 0, settleFailures: 1 });

    // After a restart: the message comes back once its visibility timeout ends.
    const restarted = new IngestPipeline({ ...baseOptions, store, provider, receiveWaitMs: 5_000 });
    const second = await drainPulls(restarted, 1);
    expect(second).toMatchObject({ received: 1, stored: 0, duplicates: 1, completed: 1 });

    const tasks = await allTasks();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]!._id).toBe(taskIdFor(messageIdempotencyKey(provider.kind, provider.queueName, sent.id)));
    expect(await provider.receive({ maxMessages: 16, waitMs: 2_000 })).toEqual([]);
  });

  it('a transient store failure abandons the batch for redelivery; nothing is dead-lettered', async () => {
    const { provider } = await fresh();
    await provider.sendBatch([
      { body: envelope('later', { n: 1 }) },
      { body: envelope('later', { n: 2 }) },
      { body: 'not json' },
    ]);
    // A real driver against a server that is not there: MongoServerSelectionError, a transient error.
    const down = new MongoClient('mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200&connectTimeoutMS=200');
    try {
      const broken = new IngestPipeline({
        ...baseOptions,
        store: new MongoTaskStore(down.db('nowhere')),
        provider,
        retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 20 },
      });
      const r = await broken.pullOnce();
      expect(r).toMatchObject({ received: 3, stored: 0, rejected: 0, deadLettered: 0, completed: 0, abandoned: 3 });
      expect(r.storeError).toMatch(/MongoServerSelectionError|Topology is closed/);
    } finally {
      await down.close();
    }
    expect(await provider.receiveDeadLetters({ maxMessages: 16, waitMs: 0 })).toEqual([]);

    const healthy = new IngestPipeline({ ...baseOptions, store, provider, receiveWaitMs: 5_000 });
    const again = await drainPulls(healthy, 3);
    expect(again).toMatchObject({ stored: 2, rejected: 1, deadLettered: 1, completed: 2 });
    expect((await allTasks()).filter((x) => x.status === S.Queued)).toHaveLength(2);
  });

  it('pullUntil drains the queue in batches and stops when it is empty', async () => {
    const notified: number[] = [];
    const { provider, pipeline } = await fresh({
      batchSize: 10,
      onTasksStored: (n) => {
        notified.push(n);
      },
    });
    await provider.sendBatch(Array.from({ length: 35 }, (_, i) => ({ body: envelope('bulk', { i }) })));
    const r = await pipeline.pullUntil({ deadline: Date.now() + 60_000 });
    expect(r).toMatchObject({ received: 35, stored: 35, completed: 35, stoppedBecause: 'empty' });
    expect(r.batches).toBeGreaterThanOrEqual(4);
    expect(notified.reduce((a, b) => a + b, 0)).toBe(35);
    expect(await store.tasks.countDocuments({ status: S.Queued })).toBe(35);
  });

  it('pullUntil stops at its deadline', async () => {
    const { provider, pipeline } = await fresh();
    await provider.send({ body: envelope('x', {}) });
    const r = await pipeline.pullUntil({ deadline: Date.now() - 1 });
    expect(r).toMatchObject({ batches: 0, received: 0, stoppedBecause: 'deadline' });
  });
});

/** Pulls until `expected` messages were received (budgeted), summing the counts. */
async function drainPulls(pipeline: IngestPipeline, expected: number, budgetMs = 20_000) {
  const total = {
    received: 0,
    stored: 0,
    duplicates: 0,
    rejected: 0,
    deadLettered: 0,
    completed: 0,
    abandoned: 0,
    settleFailures: 0,
  };
  const until = Date.now() + budgetMs;
  while (total.received < expected && Date.now() < until) {
    const r = await pipeline.pullOnce({ waitMs: 3_000 });
    for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += r[k];
  }
  return total;
}
