/**
 * Azure Storage Queue provider, on `@azure/storage-queue` (Azurite locally).
 *
 * - Storage queues have no long polling: a receive that may wait polls with a growing pause (10 ms
 *   for the first 50 ms, then doubling up to `maxPollIntervalMs`) until a message comes or the wait is over. A send through the
 *   same provider ends the pause (the local runtime's POST /api/messages beside its ingest loop); the
 *   receive's `signal` ends the wait (no further poll: each poll is one short request).
 * - Poison handling follows the Functions host: a message dequeued more than `maxDequeueCount` times,
 *   or abandoned on its last allowed delivery, moves to `<queue><poisonSuffix>` ("-poison"). Moves and
 *   deadLetter write the dead-letter envelope there (body intact, reason readable).
 * - Bodies are Base64 by default (what the Functions trigger expects); see body-codec.ts.
 * - Visibility has whole-second granularity; delays round up. Storage messages carry no properties,
 *   session or caller-chosen id: those fields of OutgoingMessage are ignored.
 */
import { QueueServiceClient, RestError, type QueueClient } from '@azure/storage-queue';
import { z } from 'zod';
import { redactConnectionString } from '../../config/redact.js';
import { silentLogger, type Logger } from '../../log/logger.js';
import { decodeDeadLetter, fitDeadLetter, MAX_DELIVERY_EXCEEDED } from '../dead-letter-envelope.js';
import {
  QueueProviderError,
  type OutgoingMessage,
  type QueueCapabilities,
  type QueueHealth,
  type QueueMessage,
  type QueueProvider,
  type ReceiveOptions,
  type SendResult,
} from '../provider.js';
import { defaultRedeliveryBackoff, redeliveryDelay, type RedeliveryBackoff } from '../redelivery.js';
import { clamp, pauseUnlessAborted } from '../toolkit.js';
import { decodeStorageBody, encodedSize, encodeStorageBody, type StorageMessageEncoding } from './body-codec.js';
import { errorMessage } from '../../errors/message.js';

export const STORAGE_RECEIVE_LIMIT = 32;
export const STORAGE_MAX_MESSAGE_BYTES = 65_536;
const MAX_VISIBILITY_SECONDS = 7 * 86_400;
const MIN_POLL_PAUSE_MS = 10;
const SHORT_PAUSES_MS = 50;

export interface StorageQueueProviderOptions {
  /** Storage connection string (Azurite: UseDevelopmentStorage=true or the devstoreaccount1 one). */
  connectionString: string;
  queueName: string;
  /** Default "-poison", as the Functions host names poison queues. */
  poisonSuffix?: string;
  /** Dequeues before a message is poison (the Functions host's maxDequeueCount, default 5). */
  maxDequeueCount?: number;
  /** How long a received message stays hidden (default 30 s). */
  visibilityTimeoutMs?: number;
  messageEncoding?: StorageMessageEncoding;
  /** Longest pause between polls while a receive waits (default 2 s). */
  maxPollIntervalMs?: number;
  redelivery?: RedeliveryBackoff;
  logger?: Logger;
}

const handleSchema = z.object({
  kind: z.literal('storage-queue'),
  queue: z.string(),
  messageId: z.string().min(1),
  popReceipt: z.string().min(1),
});
type StorageHandle = z.infer<typeof handleSchema>;

export class StorageQueueProvider implements QueueProvider {
  readonly kind = 'storage-queue';
  /** Long polling is emulated (polls with a growing pause); depths are the service's approximate counts. */
  readonly capabilities: QueueCapabilities = {
    exactDeliveryCount: true,
    visibilityTimeout: true,
    depth: true,
    deadLetterDepth: true,
    longPolling: true,
    scheduledDelivery: true,
    sessions: false,
  };
  readonly queueName: string;
  readonly deadLetterQueueName: string;
  private readonly main: QueueClient;
  private readonly poison: QueueClient;
  private readonly maxDequeueCount: number;
  private readonly visibilitySeconds: number;
  private readonly encoding: StorageMessageEncoding;
  private readonly maxPollMs: number;
  private readonly redelivery: RedeliveryBackoff;
  private readonly log: Logger;
  private readonly account: string;
  /** Receives of the main queue pausing between polls: a send through this provider ends their pause. */
  private readonly pausing = new Set<() => void>();

  constructor(opts: StorageQueueProviderOptions) {
    this.queueName = opts.queueName;
    this.deadLetterQueueName = `${opts.queueName}${opts.poisonSuffix ?? '-poison'}`;
    for (const name of [this.queueName, this.deadLetterQueueName]) {
      if (!/^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?!-))*[a-z0-9]$/.test(name)) {
        throw new Error(
          `Storage queue name "${name}" is invalid: 3-63 lowercase letters, digits and single dashes (AzureStorage:QueueName, AzureStorage:PoisonQueueSuffix)`,
        );
      }
    }
    this.maxDequeueCount = opts.maxDequeueCount ?? 5;
    this.visibilitySeconds = clamp(Math.ceil((opts.visibilityTimeoutMs ?? 30_000) / 1000), 1, MAX_VISIBILITY_SECONDS);
    this.encoding = opts.messageEncoding ?? 'base64';
    this.maxPollMs = opts.maxPollIntervalMs ?? 2_000;
    this.redelivery = opts.redelivery ?? defaultRedeliveryBackoff;
    this.log = (opts.logger ?? silentLogger).child({ provider: 'storage-queue', queue: this.queueName });
    let service: QueueServiceClient;
    try {
      service = QueueServiceClient.fromConnectionString(opts.connectionString, {
        // Our callers retry with their own policy; the SDK's defaults (4 tries, up to 2 min) would stall a pull.
        retryOptions: { maxTries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1_000, tryTimeoutInMs: 30_000 },
      });
    } catch (e) {
      throw new Error(
        `AzureStorage:ConnectionString is not a usable storage connection string (${redactConnectionString(opts.connectionString)}): ${errorMessage(e)}`,
      );
    }
    this.account = service.accountName;
    this.main = service.getQueueClient(this.queueName);
    this.poison = service.getQueueClient(this.deadLetterQueueName);
  }

  async ensureQueues(): Promise<void> {
    await this.call('createIfNotExists', this.queueName, () => this.main.createIfNotExists());
    await this.call('createIfNotExists', this.deadLetterQueueName, () => this.poison.createIfNotExists());
  }

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const received = await this.receiveWaiting(this.main, this.queueName, options);
    const keep: QueueMessage[] = [];
    for (const m of received) {
      if (m.deliveryCount > this.maxDequeueCount) {
        try {
          await this.moveToPoison(
            m,
            MAX_DELIVERY_EXCEEDED,
            `dequeued ${m.deliveryCount} times; the limit (Ingest:MaxDeliveryCount) is ${this.maxDequeueCount}`,
          );
        } catch (e) {
          // Not handed out either way; its visibility timeout brings it back for another try.
          this.log.warn('moving a poison message failed', { messageId: m.id, error: errorMessage(e) });
        }
        continue;
      }
      keep.push(m);
    }
    return keep;
  }

  async complete(message: QueueMessage): Promise<void> {
    const h = this.handleOf(message, this.queueName, 'complete');
    await this.call('deleteMessage', h.queue, () => this.main.deleteMessage(h.messageId, h.popReceipt), message.id);
  }

  async abandon(message: QueueMessage, delayMs?: number): Promise<void> {
    const h = this.handleOf(message, this.queueName, 'abandon');
    if (message.deliveryCount >= this.maxDequeueCount) {
      await this.moveToPoison(
        message,
        MAX_DELIVERY_EXCEEDED,
        `abandoned on dequeue ${message.deliveryCount}; the limit (Ingest:MaxDeliveryCount) is ${this.maxDequeueCount}`,
      );
      return;
    }
    const delay = delayMs ?? redeliveryDelay(message.deliveryCount, this.redelivery);
    const seconds = clamp(Math.ceil(delay / 1000), 0, MAX_VISIBILITY_SECONDS);
    await this.call(
      'updateMessage',
      h.queue,
      () => this.main.updateMessage(h.messageId, h.popReceipt, undefined, seconds),
      message.id,
    );
  }

  async deadLetter(message: QueueMessage, reason: string, description?: string): Promise<void> {
    this.handleOf(message, this.queueName, 'deadLetter');
    await this.moveToPoison(message, reason, description);
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const text = this.encode(message.body, this.queueName);
    const delaySeconds = delayOf(message);
    const res = await this.call('sendMessage', this.queueName, () =>
      this.main.sendMessage(text, delaySeconds > 0 ? { visibilityTimeout: delaySeconds } : {}),
    );
    if (delaySeconds === 0) this.sentNow();
    return { id: res.messageId };
  }

  async sendBatch(messages: OutgoingMessage[]): Promise<SendResult[]> {
    // Storage queues have no batch send; a bounded fan-out keeps order of results and the server calm.
    const out: SendResult[] = new Array<SendResult>(messages.length);
    const texts = messages.map((m) => this.encode(m.body, this.queueName));
    let next = 0;
    const worker = async () => {
      while (next < messages.length) {
        const i = next++;
        const delaySeconds = delayOf(messages[i]!);
        const res = await this.call('sendMessage', this.queueName, () =>
          this.main.sendMessage(texts[i]!, delaySeconds > 0 ? { visibilityTimeout: delaySeconds } : {}),
        );
        out[i] = { id: res.messageId };
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, messages.length) }, worker));
    if (messages.some((m) => delayOf(m) === 0)) this.sentNow();
    return out;
  }

  async receiveDeadLetters(options: ReceiveOptions): Promise<QueueMessage[]> {
    const received = await this.receiveWaiting(this.poison, this.deadLetterQueueName, options);
    return received.map((m) => {
      const d = decodeDeadLetter(m.body);
      // Like Service Bus, a dead letter keeps its original enqueue time when the envelope tells it.
      return { ...m, body: d.body, properties: d.properties, enqueuedAt: d.enqueuedAt ?? m.enqueuedAt };
    });
  }

  async completeDeadLetter(message: QueueMessage): Promise<void> {
    const h = this.handleOf(message, this.deadLetterQueueName, 'completeDeadLetter');
    await this.call('deleteMessage', h.queue, () => this.poison.deleteMessage(h.messageId, h.popReceipt), message.id);
  }

  async health(): Promise<QueueHealth> {
    try {
      const [main, poison, peek] = await Promise.all([
        this.call('getProperties', this.queueName, () => this.main.getProperties()),
        this.call('getProperties', this.deadLetterQueueName, () => this.poison.getProperties()),
        this.call('peekMessages', this.queueName, () => this.main.peekMessages({ numberOfMessages: 1 })),
      ]);
      const oldest = peek.peekedMessageItems[0]?.insertedOn;
      return {
        provider: this.kind,
        queue: this.queueName,
        reachable: true,
        // Approximate, and it counts hidden (in-flight and delayed) messages too: the service cannot tell them apart.
        depth: main.approximateMessagesCount ?? 0,
        deadLetterDepth: poison.approximateMessagesCount ?? 0,
        ...(oldest ? { oldestMessageAgeMs: Math.max(0, Date.now() - oldest.getTime()) } : {}),
      };
    } catch (e) {
      const err = e instanceof QueueProviderError ? e : this.toError(e, 'health', this.queueName);
      return { provider: this.kind, queue: this.queueName, reachable: false, error: err.message };
    }
  }

  async close(): Promise<void> {
    // HTTP only; nothing is held open.
  }

  // ---------------------------------------------------------------------------------------------

  private async receiveWaiting(client: QueueClient, queue: string, options: ReceiveOptions): Promise<QueueMessage[]> {
    const n = clamp(Math.floor(options.maxMessages), 1, STORAGE_RECEIVE_LIMIT);
    const deadline = Date.now() + Math.max(0, options.waitMs);
    // The pauses stay short for the first SHORT_PAUSES_MS of a wait (a queue that just gave a message is likely
    // to get the next soon: at 20 messages/s each waits ~5 ms for its poll, not 10-40), then double: a receive
    // that waits costs a few requests more, and an idle queue is still polled at most every maxPollIntervalMs.
    const began = Date.now();
    let pause = MIN_POLL_PAUSE_MS;
    while (true) {
      const res = await this.call('receiveMessages', queue, () =>
        client.receiveMessages({ numberOfMessages: n, visibilityTimeout: this.visibilitySeconds }),
      );
      if (res.receivedMessageItems.length > 0) {
        return res.receivedMessageItems.map((m) => {
          const handle: StorageHandle = {
            kind: 'storage-queue',
            queue,
            messageId: m.messageId,
            popReceipt: m.popReceipt,
          };
          return {
            id: m.messageId,
            body: decodeStorageBody(m.messageText),
            deliveryCount: m.dequeueCount,
            enqueuedAt: m.insertedOn,
            handle,
          };
        });
      }
      const left = deadline - Date.now();
      if (left <= 0 || options.signal?.aborted) return [];
      await pauseUnlessAborted(
        Math.min(pause, left),
        options.signal,
        client === this.main ? (end) => this.endOnSend(end) : undefined,
      );
      if (options.signal?.aborted) return [];
      pause = Date.now() - began < SHORT_PAUSES_MS ? MIN_POLL_PAUSE_MS : Math.min(this.maxPollMs, pause * 2);
    }
  }

  /**
   * Lets a send through this provider end a pause between polls (the local runtime's POST /api/messages
   * beside its ingest loop): a hint only; other senders are still found by the next poll.
   */
  private endOnSend(end: () => void): () => void {
    this.pausing.add(end);
    return () => this.pausing.delete(end);
  }

  private sentNow(): void {
    for (const done of [...this.pausing]) done();
  }

  private async moveToPoison(message: QueueMessage, reason: string, description?: string): Promise<void> {
    const h = this.handleOf(message, this.queueName, 'deadLetter');
    const fitted = fitDeadLetter(
      message,
      this.queueName,
      reason,
      description,
      (t) => encodedSize(encodeStorageBody(t, this.encoding)) <= STORAGE_MAX_MESSAGE_BYTES,
    );
    if (fitted.form !== 'envelope')
      this.log.warn('dead-letter envelope too large for the poison queue; moved in a form that fits', {
        messageId: message.id,
        reason,
        form: fitted.form,
      });
    const text = encodeStorageBody(fitted.text, this.encoding);
    await this.call('sendMessage', this.deadLetterQueueName, () => this.poison.sendMessage(text), message.id);
    // Sent first, deleted second: a failure in between duplicates the poison message, it never loses it.
    await this.call('deleteMessage', h.queue, () => this.main.deleteMessage(h.messageId, h.popReceipt), message.id);
    this.log.info('message moved to the poison queue', {
      messageId: message.id,
      reason,
      deliveryCount: message.deliveryCount,
    });
  }

  private encode(body: string, queue: string): string {
    const text = encodeStorageBody(body, this.encoding);
    const size = encodedSize(text);
    if (size > STORAGE_MAX_MESSAGE_BYTES) {
      throw new QueueProviderError(
        `Storage queue send to "${queue}": the encoded body is ${size} bytes; the limit is ${STORAGE_MAX_MESSAGE_BYTES}${this.encoding === 'base64' ? ' (Base64 adds a third)' : ''}`,
        { provider: this.kind, queue, operation: 'sendMessage', code: 'MessageTooLarge', transient: false },
      );
    }
    return text;
  }

  private handleOf(message: QueueMessage, expectedQueue: string, operation: string): StorageHandle {
    const h = handleSchema.safeParse(message.handle);
    if (!h.success || h.data.queue !== expectedQueue) {
      throw new QueueProviderError(
        `Storage queue ${operation}: message ${message.id} was not received from queue "${expectedQueue}" by a storage-queue provider`,
        { provider: this.kind, queue: expectedQueue, operation, code: 'ForeignHandle', transient: false },
      );
    }
    return h.data;
  }

  private async call<T>(operation: string, queue: string, fn: () => Promise<T>, messageId?: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.toError(e, operation, queue, messageId);
    }
  }

  private toError(e: unknown, operation: string, queue: string, messageId?: string): QueueProviderError {
    if (e instanceof QueueProviderError) return e;
    const err = e instanceof Error ? e : new Error(String(e));
    const status = e instanceof RestError ? e.statusCode : undefined;
    const code =
      e instanceof RestError
        ? (e.code ?? (status ? `HTTP${status}` : undefined))
        : (((err as { code?: unknown }).code as string | undefined) ?? err.name);
    // No status: the request never got an answer (refused, reset, timed out). 408/429/5xx: the service is busy.
    const transient = status === undefined || status === 408 || status === 429 || status >= 500;
    const what = messageId ? ` (message ${messageId})` : '';
    const hint =
      status === 403
        ? ' (check AzureStorage:ConnectionString)'
        : status === 404 && code === 'QueueNotFound'
          ? ' (call ensureQueues first)'
          : '';
    const first = redactConnectionString(err.message.split('\n')[0] ?? '');
    return new QueueProviderError(
      `Storage queue ${operation} on "${queue}" of account ${this.account} failed${what}: ${code ?? 'error'}${status ? ` (HTTP ${status})` : ''} - ${first}${hint}`,
      { provider: this.kind, queue, operation, ...(code ? { code } : {}), transient },
      { cause: err },
    );
  }
}

function delayOf(message: OutgoingMessage): number {
  const ms = message.scheduledAt ? message.scheduledAt.getTime() - Date.now() : (message.delayMs ?? 0);
  return clamp(Math.ceil(Math.max(0, ms) / 1000), 0, MAX_VISIBILITY_SECONDS);
}
