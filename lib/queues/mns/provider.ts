/**
 * Alibaba Cloud MNS queue provider, on the official `@alicloud/mns` SDK.
 *
 * - ensureQueues creates the queue and its dead-letter queue (an existing queue is left as it is).
 * - receive is a batch receive (up to 16) with long polling (`waitseconds`, up to 30 s). The SDK's
 *   request cannot be cut short, so a receive whose `signal` aborts answers [] at once and leaves the
 *   long poll running; messages it brings afterwards are given back (visible again in 1 s, their
 *   receive counted), or, should that fail, come back after their visibility timeout. None is lost.
 * - complete deletes (coalesced into batch deletes); abandon changes the visibility timeout, by
 *   default with exponential backoff in the delivery count.
 * - MNS has no dead-letter policy in this SDK: a message received more than `maxReceiveCount` times,
 *   or abandoned on its last allowed delivery, or given to deadLetter, is sent to the dead-letter queue
 *   inside the dead-letter envelope (body intact, reason readable) and then deleted from the main queue.
 * - Bodies are XML-escaped on send (see body-codec.ts). MNS messages carry no properties, session or
 *   caller-chosen id: those fields of OutgoingMessage are ignored.
 */
import MNSClient from '@alicloud/mns';
import { z } from 'zod';
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
import { clamp, receiveUnlessAborted } from '../toolkit.js';
import { encodeMnsBody, xmlEscapeText } from './body-codec.js';
import {
  MNS_MAX_MESSAGE_BYTES,
  MNS_MAX_VISIBILITY_SECONDS,
  MNS_MAX_WAIT_SECONDS,
  mnsQueueName,
  type MnsProviderOptions,
} from './options.js';
import { DeleteBatcher, MNS_BATCH_LIMIT } from './delete-batcher.js';
import { isMnsCode, toMnsProviderError } from './errors.js';
import { badReply, handleOf, toQueueMessages, toSendParams } from './messages.js';
import { batchDeleteBody, batchSendBody, queueAttributes, receiveBody } from './replies.js';
import { errorMessage } from '../../errors/message.js';

export class MnsQueueProvider implements QueueProvider {
  readonly kind = 'mns';
  /** Receive counts and visibility are the service's own; long polling is `waitseconds`; delays are DelaySeconds. */
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
  private readonly client: MNSClient;
  private readonly log: Logger;
  private readonly deletes: Map<string, DeleteBatcher> = new Map();
  private readonly visibilitySeconds: number;
  private readonly maxBytes: number;
  private readonly redelivery: RedeliveryBackoff;
  /** Give-backs of messages a stopped receive brought late: close() waits for them. */
  private readonly givingBack = new Set<Promise<void>>();

  constructor(private readonly opts: MnsProviderOptions) {
    this.queueName = mnsQueueName.parse(opts.queueName);
    this.deadLetterQueueName = mnsQueueName.parse(opts.deadLetterQueueName);
    if (this.queueName === this.deadLetterQueueName)
      throw new Error(
        `MNS: the dead-letter queue must differ from the queue "${this.queueName}" (Aliyun:DeadLetterQueueName)`,
      );
    this.visibilitySeconds = clamp(
      Math.ceil((opts.visibilityTimeoutMs ?? 30_000) / 1000),
      1,
      MNS_MAX_VISIBILITY_SECONDS,
    );
    this.maxBytes = clamp(opts.maxMessageBytes ?? MNS_MAX_MESSAGE_BYTES, 1024, MNS_MAX_MESSAGE_BYTES);
    this.redelivery = opts.redelivery ?? defaultRedeliveryBackoff;
    this.log = (opts.logger ?? silentLogger).child({ provider: 'mns', queue: this.queueName });
    const refresh = opts.refreshCredentials;
    this.client = new MNSClient(opts.accountId, {
      endpoint: opts.endpoint,
      accessKeyId: opts.credentials.accessKeyId,
      accessKeySecret: opts.credentials.accessKeySecret,
      ...(opts.credentials.securityToken ? { securityToken: opts.credentials.securityToken } : {}),
      ...(refresh
        ? {
            refreshSTSToken: async () => {
              const c = await refresh();
              if (!c.securityToken) throw new Error('refreshed MNS credentials carry no security token');
              return { accessKeyId: c.accessKeyId, accessKeySecret: c.accessKeySecret, securityToken: c.securityToken };
            },
            refreshSTSTokenInterval: opts.refreshIntervalMs ?? 300_000,
          }
        : {}),
      // A long poll holds the request up to 30 s; the SDK's own receive timeout is 31 s.
      readTimeout: 40_000,
      connectTimeout: 10_000,
    });
  }

  async ensureQueues(): Promise<void> {
    for (const name of [this.queueName, this.deadLetterQueueName]) {
      try {
        await this.client.createQueue(name, {
          VisibilityTimeout: this.visibilitySeconds,
          MaximumMessageSize: this.maxBytes,
          PollingWaitSeconds: 0,
          DelaySeconds: 0,
        });
      } catch (e) {
        // It exists with other attributes: an operator's choice, which we keep.
        if (isMnsCode(e, 'QueueAlreadyExist')) continue;
        throw toMnsProviderError(e, 'createQueue', name);
      }
    }
  }

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const received = await this.receiveFrom(this.queueName, options);
    const keep: QueueMessage[] = [];
    for (const m of received) {
      if (m.deliveryCount > this.opts.maxReceiveCount) {
        // Delivered too often without being settled (crashes, timeouts): it leaves for the dead-letter queue.
        try {
          await this.moveToDeadLetter(
            m,
            MAX_DELIVERY_EXCEEDED,
            `received ${m.deliveryCount} times; Aliyun:MaxReceiveCount is ${this.opts.maxReceiveCount}`,
          );
        } catch (e) {
          // Not handed out either way; its visibility timeout brings it back for another try.
          this.log.warn('moving a message past its receive count to the dead-letter queue failed', {
            messageId: m.id,
            error: errorMessage(e),
          });
        }
        continue;
      }
      keep.push(m);
    }
    return keep;
  }

  async complete(message: QueueMessage): Promise<void> {
    const h = handleOf(message, this.queueName, 'complete');
    await this.batcher(h.queue).delete(h.receiptHandle);
  }

  async abandon(message: QueueMessage, delayMs?: number): Promise<void> {
    const h = handleOf(message, this.queueName, 'abandon');
    if (message.deliveryCount >= this.opts.maxReceiveCount) {
      await this.moveToDeadLetter(
        message,
        MAX_DELIVERY_EXCEEDED,
        `abandoned on delivery ${message.deliveryCount}; Aliyun:MaxReceiveCount is ${this.opts.maxReceiveCount}`,
      );
      return;
    }
    const delay = delayMs ?? redeliveryDelay(message.deliveryCount, this.redelivery);
    // MNS accepts 1..43200 s: "at once" is one second.
    const seconds = clamp(Math.ceil(delay / 1000), 1, MNS_MAX_VISIBILITY_SECONDS);
    try {
      await this.client.changeMessageVisibility(h.queue, encodeURIComponent(h.receiptHandle), seconds);
    } catch (e) {
      throw toMnsProviderError(e, 'changeMessageVisibility', h.queue);
    }
  }

  async deadLetter(message: QueueMessage, reason: string, description?: string): Promise<void> {
    handleOf(message, this.queueName, 'deadLetter');
    await this.moveToDeadLetter(message, reason, description);
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const params = toSendParams(message, this.queueName, this.maxBytes);
    let res;
    try {
      res = await this.client.sendMessage(this.queueName, params);
    } catch (e) {
      throw toMnsProviderError(e, 'sendMessage', this.queueName);
    }
    const id = z.object({ MessageId: z.string().min(1) }).safeParse(res.body);
    if (!id.success) throw badReply('sendMessage', this.queueName);
    return { id: id.data.MessageId };
  }

  async sendBatch(messages: OutgoingMessage[]): Promise<SendResult[]> {
    const out: SendResult[] = [];
    for (let i = 0; i < messages.length; i += MNS_BATCH_LIMIT) {
      const chunk = messages.slice(i, i + MNS_BATCH_LIMIT);
      const params = chunk.map((m) => toSendParams(m, this.queueName, this.maxBytes));
      let res;
      try {
        res = await this.client.batchSendMessage(this.queueName, params);
      } catch (e) {
        throw toMnsProviderError(e, 'batchSendMessage', this.queueName);
      }
      const parsed = batchSendBody.safeParse(res.body);
      if (!parsed.success || parsed.data.length !== chunk.length) throw badReply('batchSendMessage', this.queueName);
      const failed = parsed.data.map((r, j) => ({ r, j: i + j })).filter(({ r }) => r.ErrorCode || !r.MessageId);
      if (failed.length > 0) {
        throw new QueueProviderError(
          `MNS batchSendMessage on queue "${this.queueName}": ${failed.length} of ${chunk.length} messages were refused (${failed.map(({ r, j }) => `#${j}: ${r.ErrorCode ?? 'no id'}`).join(', ')}); messages before #${i} and the others of this chunk were sent`,
          {
            provider: 'mns',
            queue: this.queueName,
            operation: 'batchSendMessage',
            code: failed[0]!.r.ErrorCode ?? 'PartialFailure',
            transient: false,
          },
        );
      }
      for (const r of parsed.data) out.push({ id: r.MessageId! });
    }
    return out;
  }

  async receiveDeadLetters(options: ReceiveOptions): Promise<QueueMessage[]> {
    const received = await this.receiveFrom(this.deadLetterQueueName, options);
    return received.map((m) => {
      const d = decodeDeadLetter(m.body);
      // Like Service Bus, a dead letter keeps its original enqueue time when the envelope tells it.
      return { ...m, body: d.body, properties: d.properties, enqueuedAt: d.enqueuedAt ?? m.enqueuedAt };
    });
  }

  async completeDeadLetter(message: QueueMessage): Promise<void> {
    const h = handleOf(message, this.deadLetterQueueName, 'completeDeadLetter');
    await this.batcher(h.queue).delete(h.receiptHandle);
  }

  async health(): Promise<QueueHealth> {
    try {
      const [main, dlq] = await Promise.all([
        this.attributes(this.queueName),
        this.attributes(this.deadLetterQueueName),
      ]);
      return {
        provider: this.kind,
        queue: this.queueName,
        reachable: true,
        depth: main.ActiveMessages,
        inFlight: main.InactiveMessages,
        delayed: main.DelayMessages,
        deadLetterDepth: dlq.ActiveMessages + dlq.InactiveMessages + dlq.DelayMessages,
      };
    } catch (e) {
      const err = e instanceof QueueProviderError ? e : toMnsProviderError(e, 'getQueueAttributes', this.queueName);
      return { provider: this.kind, queue: this.queueName, reachable: false, error: err.message };
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.givingBack]);
    await Promise.allSettled([...this.deletes.values()].map((b) => b.drain()));
  }

  // ---------------------------------------------------------------------------------------------

  private receiveFrom(queue: string, options: ReceiveOptions): Promise<QueueMessage[]> {
    if (options.signal?.aborted) options = { ...options, waitMs: 0 };
    return receiveUnlessAborted(
      this.batchReceive(queue, options),
      options.signal,
      (late) => {
        const p = this.giveBack(queue, late).finally(() => this.givingBack.delete(p));
        this.givingBack.add(p);
      },
      (e) => this.log.debug('a long poll its caller stopped waiting for failed', { error: errorMessage(e) }),
    );
  }

  /** Messages a stopped receive brought after its caller had its answer: visible again in a second. */
  private async giveBack(queue: string, messages: QueueMessage[]): Promise<void> {
    for (const m of messages) {
      const { receiptHandle } = handleOf(m, queue, 'receive');
      try {
        await this.client.changeMessageVisibility(queue, encodeURIComponent(receiptHandle), 1);
      } catch (e) {
        this.log.warn(
          'giving back a message a stopped receive brought failed; it returns after its visibility timeout',
          {
            messageId: m.id,
            error: errorMessage(e),
          },
        );
      }
    }
  }

  private async batchReceive(queue: string, options: ReceiveOptions): Promise<QueueMessage[]> {
    const n = clamp(Math.floor(options.maxMessages), 1, MNS_BATCH_LIMIT);
    const wait = options.waitMs > 0 ? clamp(Math.ceil(options.waitMs / 1000), 1, MNS_MAX_WAIT_SECONDS) : undefined;
    let res;
    try {
      res = await this.client.batchReceiveMessage(queue, n, wait);
    } catch (e) {
      // An empty queue answers 404 MessageNotExist.
      if (isMnsCode(e, 'MessageNotExist')) return [];
      throw toMnsProviderError(e, 'batchReceiveMessage', queue);
    }
    const parsed = receiveBody.safeParse(res.body);
    if (!parsed.success) throw badReply('batchReceiveMessage', queue);
    return toQueueMessages(parsed.data, queue);
  }

  private async moveToDeadLetter(message: QueueMessage, reason: string, description?: string): Promise<void> {
    const h = handleOf(message, this.queueName, 'deadLetter');
    const fitted = fitDeadLetter(
      message,
      this.queueName,
      reason,
      description,
      (t) => Buffer.byteLength(t, 'utf8') <= this.maxBytes,
    );
    if (fitted.form !== 'envelope')
      this.log.warn('dead-letter envelope too large for the dead-letter queue; sent in a form that fits', {
        messageId: message.id,
        reason,
        form: fitted.form,
      });
    const body = fitted.text;
    try {
      await this.client.sendMessage(this.deadLetterQueueName, { MessageBody: encodeMnsBody(body) });
    } catch (e) {
      throw toMnsProviderError(e, 'deadLetter (send)', this.deadLetterQueueName);
    }
    // Sent first, deleted second: a failure in between duplicates the dead letter, it never loses it.
    await this.batcher(h.queue).delete(h.receiptHandle);
    this.log.info('message dead-lettered', { messageId: message.id, reason, deliveryCount: message.deliveryCount });
  }

  private batcher(queue: string): DeleteBatcher {
    let b = this.deletes.get(queue);
    if (!b) {
      b = new DeleteBatcher((handles) => this.batchDelete(queue, handles));
      this.deletes.set(queue, b);
    }
    return b;
  }

  private async batchDelete(queue: string, handles: string[]): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    let res;
    try {
      res =
        handles.length === 1
          ? await this.client.deleteMessage(queue, encodeURIComponent(handles[0]!))
          : await this.client.batchDeleteMessage(queue, handles.map(xmlEscapeText));
    } catch (e) {
      throw toMnsProviderError(e, handles.length === 1 ? 'deleteMessage' : 'batchDeleteMessage', queue);
    }
    if (handles.length === 1) return failures;
    const parsed = batchDeleteBody.safeParse(res.body);
    if (!parsed.success) throw badReply('batchDeleteMessage', queue);
    for (const f of parsed.data ?? []) {
      failures.set(
        f.ReceiptHandle,
        new QueueProviderError(
          `MNS deleteMessage on queue "${queue}" failed: ${f.ErrorCode}${f.ErrorMessage ? ` - ${f.ErrorMessage}` : ''} (the receipt handle expired: the message will be delivered again)`,
          { provider: 'mns', queue, operation: 'batchDeleteMessage', code: f.ErrorCode, transient: false },
        ),
      );
    }
    return failures;
  }

  private async attributes(queue: string): Promise<z.infer<typeof queueAttributes>> {
    let res;
    try {
      res = await this.client.getQueueAttributes(queue);
    } catch (e) {
      throw toMnsProviderError(e, 'getQueueAttributes', queue);
    }
    const parsed = queueAttributes.safeParse(res.body);
    if (!parsed.success) throw badReply('getQueueAttributes', queue);
    return parsed.data;
  }
}
