/**
 * Ingest throughput: messages per second from a queue to stored tasks, per provider (MNS against the
 * local peer, Storage Queue against Azurite), beside the ceiling: a bare `insertMany` of the same task
 * documents, in the same batch size, on the same server. The queue is filled before the clock starts;
 * the clock covers receive, decode, the bulk write and the acknowledgements.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { IngestPipeline } from '../lib/ingest/index.js';
import { decodeMessage } from '../lib/ingest/decode.js';
import { MnsQueueProvider } from '../lib/queues/mns/provider.js';
import type { QueueProvider } from '../lib/queues/provider.js';
import { StorageQueueProvider } from '../lib/queues/storage-queue/provider.js';
import { toTaskDocument } from '../lib/store/mongo/writes.js';
import { MongoTaskStore } from '../lib/store/mongo/store.js';
import type { Task } from '../lib/tasks/model.js';
import { startMnsPeer } from '../test/support/mns-peer/index.js';
import { startAzuriteQueue } from '../tools/azurite.js';
import { perSecond, timed, type BenchResult } from './result.js';

export interface IngestBenchOptions {
  mongoUri: string;
  messages?: number;
  batchSize?: number;
  concurrency?: number;
}

const body = (i: number) =>
  JSON.stringify({ type: 'bench.echo', payload: { i, note: 'ingest benchmark <&> ünïcødé' } });

async function fill(provider: QueueProvider, count: number): Promise<void> {
  const chunk = 256;
  for (let i = 0; i < count; i += chunk) {
    await provider.sendBatch(Array.from({ length: Math.min(chunk, count - i) }, (_, j) => ({ body: body(i + j) })));
  }
}

async function freshDb(client: MongoClient): Promise<Db> {
  return client.db(`bench_ingest_${randomBytes(4).toString('hex')}`);
}

export async function benchIngest(opts: IngestBenchOptions): Promise<BenchResult[]> {
  const messages = opts.messages ?? 2000;
  const batchSize = opts.batchSize ?? 32;
  const concurrency = opts.concurrency ?? 16;
  const scenario = `ingest ${messages} messages, batch ${batchSize}`;
  const results: BenchResult[] = [];
  const client = await new MongoClient(opts.mongoUri).connect();
  const dbs: Db[] = [];
  const credentials = { accessKeyId: 'bench-id', accessKeySecret: randomBytes(12).toString('hex') };
  const peer = await startMnsPeer(credentials);
  const azurite = await startAzuriteQueue();
  try {
    // Ceiling first (it is the scenario's baseline): the same documents, one insertMany per batch.
    {
      const db = await freshDb(client);
      dbs.push(db);
      const now = new Date();
      const source = { provider: 'bench', queue: 'ceiling' };
      const docs = Array.from({ length: messages }, (_, i) =>
        toTaskDocument(
          decodeMessage({ id: `m${i}`, body: body(i) }, source, { maxBodyBytes: 65_536, taskTypeProperty: 'taskType' })
            .task,
          now,
          { maxRetries: 3 },
          'ingest',
        ),
      );
      const col = db.collection<Task>('tasks');
      await db.collection('warm_up').insertOne({ ok: 1 }); // connection and database exist before the clock starts
      const { ms } = await timed(async () => {
        for (let i = 0; i < docs.length; i += batchSize)
          await col.insertMany(docs.slice(i, i + batchSize), { ordered: false });
      });
      results.push({
        scenario,
        system: 'mongodb insertMany (ceiling)',
        metric: 'throughput',
        value: perSecond(messages, ms),
        unit: 'msg/s',
      });
    }

    const providers: [string, () => QueueProvider][] = [
      [
        'mns (local peer)',
        () =>
          new MnsQueueProvider({
            accountId: peer.accountId,
            endpoint: peer.endpoint,
            credentials,
            queueName: `bench-${randomBytes(4).toString('hex')}`,
            deadLetterQueueName: `bench-${randomBytes(4).toString('hex')}-dlq`,
            maxReceiveCount: 5,
            visibilityTimeoutMs: 60_000,
          }),
      ],
      [
        'storage-queue (azurite)',
        () =>
          new StorageQueueProvider({
            connectionString: azurite.connectionString,
            queueName: `bench-${randomBytes(4).toString('hex')}`,
            visibilityTimeoutMs: 60_000,
          }),
      ],
    ];
    for (const [system, make] of providers) {
      const provider = make();
      try {
        await provider.ensureQueues();
        await fill(provider, messages);
        const db = await freshDb(client);
        dbs.push(db);
        const store = new MongoTaskStore(db);
        await store.ensureIndexes();
        const pipeline = new IngestPipeline({
          store,
          provider,
          batchSize,
          concurrency,
          messageTimeoutMs: 60_000,
          receiveWaitMs: 1_000,
          maxBodyBytes: 65_536,
          retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 1_000 },
        });
        const { ms, value } = await timed(() => pipeline.pullUntil({ deadline: Date.now() + 600_000 }));
        const stored = await store.tasks.countDocuments({});
        if (value.stored !== messages || stored !== messages) {
          throw new Error(
            `bench ingest ${system}: stored ${value.stored} (counted ${stored}) of ${messages} messages (${value.stoppedBecause})`,
          );
        }
        results.push({ scenario, system, metric: 'throughput', value: perSecond(messages, ms), unit: 'msg/s' });
        results.push({ scenario, system, metric: 'batches', value: value.batches, unit: 'count' });
      } finally {
        await provider.close();
      }
    }
  } finally {
    await Promise.allSettled(dbs.map((d) => d.dropDatabase()));
    await client.close();
    await peer.stop();
    await azurite.stop();
  }
  return results;
}
