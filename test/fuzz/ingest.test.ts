/**
 * Fuzzing ingest: generated message bodies and properties through the decoder, then batches of them
 * through each pull provider's real queue (Storage Queue on Azurite, MNS on the local peer) into the real
 * database. Property: every message becomes a Queued task whose input passes the shared limits, or a
 * Failed task plus a dead letter with its reason; the pipeline never throws and leaves nothing behind.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejectionCodes, taskTypeSchema } from '../../lib/ingest/contract.js';
import { decodeMessage } from '../../lib/ingest/decode.js';
import { IngestPipeline } from '../../lib/ingest/index.js';
import { findInvalidXmlChar } from '../../lib/queues/mns/body-codec.js';
import { DEAD_LETTER_REASON_PROPERTY } from '../../lib/queues/provider.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { scanDocument } from '../../lib/tasks/input-limits.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { drain, startMnsKit, storageQueueKit, type ProviderKit } from '../support/queue-providers.js';
import { bodyText, fuzzParams, fuzzSettings } from './arbitraries.js';

const properties = fc.option(
  fc.dictionary(
    fc.oneof(fc.constant('taskType'), fc.string({ minLength: 1, maxLength: 10 })),
    fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.boolean(), fc.constantFrom('echo', '$where', '')),
    { maxKeys: 3 },
  ),
  { nil: undefined },
);

describe('fuzz: ingest decoding', () => {
  it('every body is a valid task or a rejection with a known reason; never a throw', () => {
    fc.assert(
      fc.property(
        bodyText,
        properties,
        fc.option(fc.constantFrom('fallback', '$bad'), { nil: undefined }),
        (body, props, defaultType) => {
          const d = decodeMessage(
            { id: 'm', body, ...(props ? { properties: props } : {}) },
            { provider: 'fuzz', queue: 'q' },
            {
              maxBodyBytes: 64 * 1024,
              taskTypeProperty: 'taskType',
              ...(defaultType ? { defaultTaskType: defaultType } : {}),
            },
          );
          if (d.rejection) {
            expect(rejectionCodes).toContain(d.rejection.code);
            expect(d.task.failedReason).toMatch(new RegExp(`^${d.rejection.code}: `));
          } else {
            expect(scanDocument(d.task.payload)).toBeUndefined();
            expect(taskTypeSchema.safeParse(d.task.type).success).toBe(true);
            expect(d.task.failedReason).toBeUndefined();
          }
        },
      ),
      fuzzParams(20),
    );
  });
});

const kits: { name: string; start: () => Promise<ProviderKit> }[] = [
  { name: 'Azure Storage Queue (Azurite)', start: async () => storageQueueKit() },
  { name: 'Alibaba MNS (local peer)', start: startMnsKit },
];

describe.each(kits)('fuzz: ingest over $name', ({ start }) => {
  let kit: ProviderKit;
  let t: TestDb;
  let store: MongoTaskStore;

  beforeAll(async () => {
    kit = await start();
    t = await openTestDb('fuzz_ingest');
    store = new MongoTaskStore(t.db, { maxRetries: 3 });
    await store.ensureIndexes();
  });
  afterAll(async () => {
    await kit?.stop();
    await t?.drop();
  });

  it('a generated batch: each message is a Queued task or a Failed task and a dead letter with its reason', async () => {
    // Bodies the queue itself accepts (a producer cannot send what the service refuses).
    const count = Math.min(200, Math.max(20, Math.round(fuzzSettings.numRuns / 3)));
    const bodies = fc
      .sample(bodyText, { seed: fuzzSettings.seed, numRuns: count * 2 })
      .filter((b) => b.length > 0 && Buffer.byteLength(b) < 40_000 && findInvalidXmlChar(b) < 0)
      .slice(0, count);
    const provider = kit.make({ visibilityTimeoutMs: 30_000 });
    await provider.ensureQueues();
    await provider.sendBatch(bodies.map((body) => ({ body })));
    const pipeline = new IngestPipeline({
      store,
      provider,
      batchSize: 16,
      concurrency: 4,
      messageTimeoutMs: 20_000,
      receiveWaitMs: 1_000,
      maxBodyBytes: 64 * 1024,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 50 },
    });
    const r = await pipeline.pullUntil({ deadline: Date.now() + 120_000 });
    expect(r).toMatchObject({ received: bodies.length, settleFailures: 0, abandoned: 0, removedUndeliverable: 0 });
    expect(r.stored + r.duplicates + r.rejected).toBe(bodies.length);
    const tasks = await store.tasks.find({}).toArray();
    const failed = tasks.filter((x) => x.status === S.Failed);
    for (const task of tasks) {
      if (task.status === S.Failed) expect(task.reason).toMatch(/^[A-Za-z]+: /);
      else {
        expect(task.status).toBe(S.Queued);
        expect(scanDocument(task.payload)).toBeUndefined();
      }
    }
    const dead = await drain((o) => provider.receiveDeadLetters(o), failed.length, 30_000);
    expect(dead).toHaveLength(r.rejected);
    for (const d of dead)
      expect(rejectionCodes).toContain(d.properties?.[DEAD_LETTER_REASON_PROPERTY] ?? d.properties?.BodyTruncated);
    expect(await provider.receive({ maxMessages: 16, waitMs: 0 })).toHaveLength(0);
  });
});
