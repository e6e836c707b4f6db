/**
 * Real queue providers for tests: MNS against the local peer, Storage Queue against the suite's
 * Azurite. Each `make` call gets queues of its own.
 */
import { randomBytes } from 'node:crypto';
import { QueueServiceClient } from '@azure/storage-queue';
import { MnsQueueProvider } from '../../lib/queues/mns/provider.js';
import type { QueueMessage, QueueProvider } from '../../lib/queues/provider.js';
import type { RedeliveryBackoff } from '../../lib/queues/redelivery.js';
import { StorageQueueProvider } from '../../lib/queues/storage-queue/provider.js';
import { startMnsPeer, type MnsPeerHandle } from './mns-peer/index.js';
import { azuriteConnectionString } from './services.js';

export interface MakeProviderOptions {
  visibilityTimeoutMs?: number;
  maxDeliveryCount?: number;
  redelivery?: RedeliveryBackoff;
}

export interface ProviderKit {
  name: 'mns' | 'storage-queue';
  make(opts?: MakeProviderOptions): QueueProvider;
  stop(): Promise<void>;
}

const fast: RedeliveryBackoff = { baseMs: 10, capMs: 100 };

export async function startMnsKit(): Promise<
  ProviderKit & { peer: MnsPeerHandle; credentials: { accessKeyId: string; accessKeySecret: string } }
> {
  const credentials = { accessKeyId: 'test-key-id', accessKeySecret: `test-secret-${randomBytes(8).toString('hex')}` };
  const peer = await startMnsPeer(credentials);
  const made: QueueProvider[] = [];
  return {
    name: 'mns',
    peer,
    credentials,
    make: (o = {}) => {
      const name = `t-${randomBytes(5).toString('hex')}`;
      const p = new MnsQueueProvider({
        accountId: peer.accountId,
        endpoint: peer.endpoint,
        credentials,
        queueName: name,
        deadLetterQueueName: `${name}-dlq`,
        maxReceiveCount: o.maxDeliveryCount ?? 10,
        visibilityTimeoutMs: o.visibilityTimeoutMs ?? 2_000,
        redelivery: o.redelivery ?? fast,
      });
      made.push(p);
      return p;
    },
    stop: async () => {
      await Promise.allSettled(made.map((p) => p.close()));
      await peer.stop();
    },
  };
}

export async function storageQueueKit(): Promise<ProviderKit> {
  const connectionString = await azuriteConnectionString();
  const made: StorageQueueProvider[] = [];
  return {
    name: 'storage-queue',
    make: (o = {}) => {
      const p = new StorageQueueProvider({
        connectionString,
        queueName: `t-${randomBytes(5).toString('hex')}`,
        visibilityTimeoutMs: o.visibilityTimeoutMs ?? 2_000,
        maxDequeueCount: o.maxDeliveryCount ?? 10,
        maxPollIntervalMs: 250,
        redelivery: o.redelivery ?? fast,
      });
      made.push(p);
      return p;
    },
    stop: async () => {
      const service = QueueServiceClient.fromConnectionString(connectionString);
      await Promise.allSettled(
        made.flatMap((p) =>
          [p.queueName, p.deadLetterQueueName].map((q) => service.getQueueClient(q).deleteIfExists()),
        ),
      );
    },
  };
}

/** Everything that arrives within the budget (a budget, not an assertion). */
export async function drain(
  receive: (o: { maxMessages: number; waitMs: number }) => Promise<QueueMessage[]>,
  expected: number,
  budgetMs = 20_000,
): Promise<QueueMessage[]> {
  const until = Date.now() + budgetMs;
  const out: QueueMessage[] = [];
  while (out.length < expected && Date.now() < until) {
    out.push(...(await receive({ maxMessages: 16, waitMs: Math.min(3_000, Math.max(1, until - Date.now())) })));
  }
  return out;
}
