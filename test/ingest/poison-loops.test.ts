/**
 * No poison loops: a refused message that cannot be dead-lettered as it is still ends. Too large for the
 * dead-letter envelope: it moves in a form that fits (the bare body, or a prefix with its size and SHA-256).
 * Dead-letter queue unreachable: on its last allowed delivery it is removed, its Failed task keeping the body.
 * Over each pull provider (Storage Queue against Azurite, MNS and Service Bus against local peers) and the real database.
 */
import { createHash } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IngestPipeline, type IngestPipelineOptions } from '../../lib/ingest/index.js';
import { DEAD_LETTER_REASON_PROPERTY, type QueueProvider } from '../../lib/queues/provider.js';
import { MongoTaskStore } from '../../lib/store/mongo/store.js';
import { JobTaskStatus as S } from '../../lib/tasks/status.js';
import { openTestDb, type TestDb } from '../support/db.js';
import { drain, startMnsKit, storageQueueKit, type ProviderKit } from '../support/queue-providers.js';
import { azuriteConnectionString } from '../support/services.js';
import { startServiceBusPeer, type ServiceBusPeer } from '../support/service-bus-peer/index.js';
import { providerOn, uniqueName } from '../queues/service-bus/helpers.js';

interface Kit {
  name: string;
  start: () => Promise<ProviderKit & { breakDeadLetterQueue(p: QueueProvider): Promise<void> }>;
  /** Puts a ~60 KB refused message on the queue the way a producer would. */
  sendLarge(p: QueueProvider, body: string): Promise<void>;
  /** Whether its dead letter can only be a truncated envelope. */
  truncates: boolean;
}

const kits: Kit[] = [
  {
    name: 'Azure Storage Queue (Azurite)',
    start: async () => {
      const kit = await storageQueueKit();
      const service = QueueServiceClient.fromConnectionString(await azuriteConnectionString());
      return {
        ...kit,
        breakDeadLetterQueue: async (p) => {
          await service.getQueueClient(p.deadLetterQueueName).delete();
        },
      };
    },
    // A producer writing plain text (not Base64): 60 KB on the queue, 80 KB once Base64-encoded for the poison queue.
    sendLarge: async (p, body) => {
      const service = QueueServiceClient.fromConnectionString(await azuriteConnectionString());
      await service.getQueueClient(p.queueName).sendMessage(body);
    },
    truncates: true,
  },
  {
    name: 'Alibaba MNS (local peer)',
    start: async () => {
      const kit = await startMnsKit();
      return {
        ...kit,
        breakDeadLetterQueue: async (p) => {
          kit.peer.peer.queues.delete(p.deadLetterQueueName);
        },
      };
    },
    sendLarge: async (p, body) => {
      await p.send({ body });
    },
    truncates: false,
  },
];

const options = {
  batchSize: 8,
  concurrency: 4,
  messageTimeoutMs: 20_000,
  receiveWaitMs: 1_000,
  maxBodyBytes: 100_000,
  maxDeliveryCount: 2,
  retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 20 },
} satisfies Partial<IngestPipelineOptions>;

/** ~60 KB of JSON with a forbidden key; its quotes grow by a third inside the envelope's JSON string. */
function largeRefusedBody(): string {
  const items = Array.from({ length: 3_800 }, (_, i) => `"v${i % 10}x${'q'.repeat(10)}"`).join(',');
  return `{"type":"bulk","payload":{"$where":"1","items":[${items}]}}`;
}

describe.each(kits)('no poison loops over $name', ({ start, sendLarge, truncates }) => {
  let kit: Awaited<ReturnType<Kit['start']>>;
  let t: TestDb;
  let store: MongoTaskStore;

  beforeAll(async () => {
    kit = await start();
    t = await openTestDb('poison_loops');
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

  async function fresh() {
    const provider = kit.make({ visibilityTimeoutMs: 1_000, maxDeliveryCount: 5 });
    await provider.ensureQueues();
    return { provider, pipeline: new IngestPipeline({ ...options, store, provider }) };
  }

  it('a ~60 KB refused message too large for the dead-letter envelope is dead-lettered in one delivery', async () => {
    const { provider, pipeline } = await fresh();
    const body = largeRefusedBody();
    expect(Buffer.byteLength(body)).toBeGreaterThan(55_000);
    expect(Buffer.byteLength(body)).toBeLessThan(64_000);
    await sendLarge(provider, body);

    const r = await pipeline.pullOnce();
    expect(r).toMatchObject({ received: 1, rejected: 1, deadLettered: 1, settleFailures: 0, removedUndeliverable: 0 });
    const [task] = await store.tasks.find({}).toArray();
    expect(task).toMatchObject({ status: S.Failed, payload: { rawBody: body, truncated: false } });
    expect(task!.reason).toContain('ForbiddenKey');

    const dead = await drain((o) => provider.receiveDeadLetters(o), 1, 10_000);
    expect(dead).toHaveLength(1);
    const d = dead[0]!;
    expect(d.properties?.BodyTruncated === true).toBe(truncates);
    if (truncates) {
      // Not even the bare body fitted: a prefix, the whole body's size and hash, and the reason.
      expect(body.startsWith(d.body)).toBe(true);
      expect(d.properties).toMatchObject({
        [DEAD_LETTER_REASON_PROPERTY]: 'ForbiddenKey',
        BodyBytes: Buffer.byteLength(body),
        BodySha256: createHash('sha256').update(body).digest('hex'),
      });
    } else {
      expect(d.body).toBe(body);
    }
    await provider.completeDeadLetter(d);
    // Gone from the ingest queue: nothing comes back after its visibility timeout.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await pipeline.pullOnce({ waitMs: 500 })).received).toBe(0);
  });

  it('a refused message whose dead-letter queue is unreachable ends on its last delivery; its Failed task keeps it', async () => {
    const { provider, pipeline } = await fresh();
    await kit.breakDeadLetterQueue(provider);
    const body = '{"type":"t","payload":{"a.b":1}}';
    await provider.send({ body });

    const first = await pipeline.pullOnce();
    expect(first).toMatchObject({ received: 1, rejected: 1, deadLettered: 0, abandoned: 1 });
    let second = await pipeline.pullOnce({ waitMs: 3_000 });
    for (let i = 0; i < 10 && second.received === 0; i++) second = await pipeline.pullOnce({ waitMs: 3_000 });
    expect(second).toMatchObject({ received: 1, rejected: 1, deadLettered: 0, removedUndeliverable: 1 });
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await pipeline.pullOnce({ waitMs: 500 })).received).toBe(0);
    const tasks = await store.tasks.find({}).toArray();
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ status: S.Failed, payload: { rawBody: body } });
  });
});

describe('no poison loops over Azure Service Bus (local AMQP peer)', () => {
  let peer: ServiceBusPeer;
  let t: TestDb;
  let store: MongoTaskStore;

  beforeAll(async () => {
    peer = await startServiceBusPeer({ entities: [] });
    t = await openTestDb('poison_loops_sb');
    store = new MongoTaskStore(t.db, { maxRetries: 3 });
    await store.ensureIndexes();
  });
  afterAll(async () => {
    await peer?.stop();
    await t?.drop();
  });

  it('a refused message the dead-letter queue refuses ends on its last delivery; its Failed task keeps it', async () => {
    const name = uniqueName('poison');
    peer.addEntity({ name, lockDurationMs: 1_500, maxDeliveryCount: 10 });
    const real = providerOn(peer, { QueueName: name, MaxDeliveryCount: 10 });
    // Our own provider with its dead-lettering refused (as when the entity's dead-letter sub-queue is full or the link fails).
    const provider = new Proxy(real, {
      get(target, prop) {
        if (prop === 'deadLetter')
          return async () => {
            throw new Error('dead-letter refused');
          };
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    try {
      const pipeline = new IngestPipeline({ ...options, store, provider });
      const body = '{"type":"t","payload":{"$gt":1}}';
      await real.send({ body });
      const first = await pipeline.pullOnce();
      expect(first).toMatchObject({ received: 1, rejected: 1, deadLettered: 0, abandoned: 1 });
      let second = await pipeline.pullOnce({ waitMs: 3_000 });
      for (let i = 0; i < 10 && second.received === 0; i++) second = await pipeline.pullOnce({ waitMs: 3_000 });
      expect(second).toMatchObject({ received: 1, rejected: 1, removedUndeliverable: 1 });
      await new Promise((r) => setTimeout(r, 2_000));
      expect((await pipeline.pullOnce({ waitMs: 500 })).received).toBe(0);
      const tasks = await store.tasks.find({}).toArray();
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ status: S.Failed, payload: { rawBody: body } });
    } finally {
      await real.close();
    }
  });
});
