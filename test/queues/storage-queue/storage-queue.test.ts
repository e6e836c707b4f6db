/**
 * Storage Queue specifics against Azurite: poison handling as the Functions host does it, the
 * message encoding (Base64 by default, both accepted), errors, settings.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config/load.js';
import { createQueueProvider } from '../../../lib/queues/factory.js';
import { DEAD_LETTER_REASON_PROPERTY, QueueProviderError } from '../../../lib/queues/provider.js';
import { StorageQueueProvider } from '../../../lib/queues/storage-queue/provider.js';
import { drain } from '../../support/queue-providers.js';
import { azuriteConnectionString } from '../../support/services.js';

let connectionString: string;
let service: QueueServiceClient;
const made: string[] = [];

beforeAll(async () => {
  connectionString = await azuriteConnectionString();
  service = QueueServiceClient.fromConnectionString(connectionString);
});
afterAll(async () => {
  await Promise.allSettled(made.map((q) => service.getQueueClient(q).deleteIfExists()));
});

function provider(opts: Partial<ConstructorParameters<typeof StorageQueueProvider>[0]> = {}) {
  const p = new StorageQueueProvider({
    connectionString,
    queueName: `s-${randomBytes(5).toString('hex')}`,
    visibilityTimeoutMs: 1_000,
    maxPollIntervalMs: 200,
    redelivery: { baseMs: 10, capMs: 100 },
    ...opts,
  });
  made.push(p.queueName, p.deadLetterQueueName);
  return p;
}

describe('Storage Queue poison handling', () => {
  it('uses <queue>-poison as the dead-letter queue, as the Functions host does', () => {
    const p = provider({ queueName: 'orders' });
    expect(p.deadLetterQueueName).toBe('orders-poison');
  });

  it('a message dequeued past the limit without being settled moves to the poison queue', async () => {
    const p = provider({ maxDequeueCount: 2 });
    await p.ensureQueues();
    await p.send({ body: 'poison' });
    const seen: number[] = [];
    while (seen.length < 2) {
      for (const m of await p.receive({ maxMessages: 16, waitMs: 3_000 })) seen.push(m.deliveryCount);
    }
    expect(seen).toEqual([1, 2]);
    expect(await p.receive({ maxMessages: 16, waitMs: 2_500 })).toEqual([]);
    const [dead] = await drain((o) => p.receiveDeadLetters(o), 1);
    expect(dead).toMatchObject({
      body: 'poison',
      properties: { [DEAD_LETTER_REASON_PROPERTY]: 'MaxDeliveryCountExceeded', OriginalDeliveryCount: 3 },
    });
    expect(await p.health()).toMatchObject({ reachable: true, depth: 0, deadLetterDepth: 1 });
  });

  it('a message abandoned on its last allowed dequeue moves to the poison queue', async () => {
    const p = provider({ maxDequeueCount: 1 });
    await p.ensureQueues();
    await p.send({ body: 'once only' });
    const [m] = await drain((o) => p.receive(o), 1);
    await p.abandon(m!);
    const [dead] = await drain((o) => p.receiveDeadLetters(o), 1);
    expect(dead).toMatchObject({
      body: 'once only',
      properties: { [DEAD_LETTER_REASON_PROPERTY]: 'MaxDeliveryCountExceeded' },
    });
  });

  it('a poison message written by the Functions host (the plain original text) is read as is, without a reason', async () => {
    const p = provider();
    await p.ensureQueues();
    await service.getQueueClient(p.deadLetterQueueName).sendMessage(Buffer.from('{"type":"x"}').toString('base64'));
    const [dead] = await drain((o) => p.receiveDeadLetters(o), 1);
    expect(dead!.body).toBe('{"type":"x"}');
    expect(dead!.properties ?? {}).toEqual({});
    await p.completeDeadLetter(dead!);
  });
});

describe('Storage Queue receive pauses', () => {
  it('a send through the same provider ends the pause of a waiting receive, before its next poll', async () => {
    const p = provider({ maxPollIntervalMs: 60_000 });
    await p.ensureQueues();
    const receiving = p.receive({ maxMessages: 16, waitMs: 120_000 });
    // Pauses of 10, 20, 40 ... ms: the one that starts near 5.1 s lasts 5.1 s, so the poll after this
    // send is at least 4 s away.
    await sleep(6_000);
    await p.send({ body: 'hint' });
    const got = await Promise.race([receiving, sleep(3_500).then(() => 'the next poll' as const)]);
    if (got === 'the next poll')
      throw new Error('the receive waited for its next poll: the send did not end its pause');
    expect(got[0]?.body).toBe('hint');
  }, 30_000);
});

describe('Storage Queue message encoding', () => {
  it('writes Base64 by default (what the Functions queue trigger reads)', async () => {
    const p = provider();
    await p.ensureQueues();
    await p.send({ body: '{"type":"echo","payload":"<ü>"}' });
    const peeked = await service.getQueueClient(p.queueName).peekMessages();
    expect(peeked.peekedMessageItems[0]!.messageText).toBe(
      Buffer.from('{"type":"echo","payload":"<ü>"}', 'utf8').toString('base64'),
    );
  });

  it('text mode writes plain text', async () => {
    const p = provider({ messageEncoding: 'text' });
    await p.ensureQueues();
    await p.send({ body: '{"type":"echo","payload":"<ü>"}' });
    const peeked = await service.getQueueClient(p.queueName).peekMessages();
    expect(peeked.peekedMessageItems[0]!.messageText).toBe('{"type":"echo","payload":"<ü>"}');
  });

  it('reads both plain-text and Base64 messages written by other producers', async () => {
    const p = provider();
    await p.ensureQueues();
    const raw = service.getQueueClient(p.queueName);
    await raw.sendMessage('{"type":"plain","payload":"a & b"}');
    await raw.sendMessage(Buffer.from('{"type":"b64","payload":"漢字"}').toString('base64'));
    const bodies = (await drain((o) => p.receive(o), 2)).map((m) => m.body).sort();
    expect(bodies).toEqual(['{"type":"b64","payload":"漢字"}', '{"type":"plain","payload":"a & b"}']);
  });

  it('refuses a body over 64 KiB once encoded, before sending', async () => {
    const p = provider();
    await p.ensureQueues();
    await expect(p.send({ body: 'x'.repeat(50_000) })).rejects.toMatchObject({
      details: { code: 'MessageTooLarge', transient: false },
    });
  });
});

describe('Storage Queue errors and settings', () => {
  it('a wrong account key is a typed, non-transient error naming the queue and the setting, without the key', async () => {
    const wrongKey = randomBytes(32).toString('base64');
    const p = provider({ connectionString: connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`) });
    const err = await p.send({ body: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(QueueProviderError);
    expect((err as QueueProviderError).details).toMatchObject({
      provider: 'storage-queue',
      queue: p.queueName,
      operation: 'sendMessage',
      code: 'AuthenticationFailed',
      transient: false,
    });
    expect((err as QueueProviderError).message).toContain('AzureStorage:ConnectionString');
    expect((err as QueueProviderError).message).not.toContain(wrongKey);
    const health = await p.health();
    expect(health.reachable).toBe(false);
    expect(health.error).not.toContain(wrongKey);
  });

  it('an unreachable service is a transient error', async () => {
    const p = provider({
      connectionString: connectionString.replace(/QueueEndpoint=http:\/\/[^/]+/, 'QueueEndpoint=http://127.0.0.1:9'),
    });
    await expect(p.receive({ maxMessages: 1, waitMs: 0 })).rejects.toMatchObject({
      details: { transient: true, operation: 'receiveMessages' },
    });
  });

  it('invalid queue names are refused with the setting named', () => {
    expect(() => provider({ queueName: 'Bad_Name' })).toThrow(/AzureStorage:QueueName/);
  });

  it('createQueueProvider builds the ingest and dispatch queues from the AzureStorage keys', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        AzureStorage: {
          ConnectionString: connectionString,
          QueueName: 'ingest-from-settings',
          DispatchQueueName: 'dispatch-from-settings',
        },
        Ingest: { MaxDeliveryCount: 3 },
      },
    });
    expect(config.Ingest.Provider).toBe('storage-queue');
    const ingest = await createQueueProvider(config);
    const dispatch = await createQueueProvider(
      { ...config, Ingest: { ...config.Ingest, Provider: 'mns' } },
      { queue: 'dispatch' },
    );
    made.push(
      'ingest-from-settings',
      'ingest-from-settings-poison',
      'dispatch-from-settings',
      'dispatch-from-settings-poison',
    );
    expect([ingest.kind, ingest.queueName, ingest.deadLetterQueueName]).toEqual([
      'storage-queue',
      'ingest-from-settings',
      'ingest-from-settings-poison',
    ]);
    expect([dispatch.kind, dispatch.queueName]).toEqual(['storage-queue', 'dispatch-from-settings']);
    await ingest.ensureQueues();
    await ingest.send({ body: 'via settings' });
    expect((await drain((o) => ingest.receive(o), 1)).map((m) => m.body)).toEqual(['via settings']);
  });
});
