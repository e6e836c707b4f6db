/**
 * Azure Service Bus queue provider (`@azure/service-bus`, AMQP 1.0).
 *
 * Reads a queue (`QueueName`), or a topic subscription (`TopicName` + `SubscriptionName`) and sends to
 * its topic; QueueName wins when both are set. Receives in peek-lock mode, in batches; the SDK renews
 * message (and session) locks up to `MaxAutoLockRenewalDuration`. Built by ./create.ts; authentication:
 * ./client.ts; the links it holds: ./links.ts.
 *
 * Service-Bus-only operations are extra methods: defer / receiveDeferred, schedule / cancelScheduled,
 * acceptSession (FIFO sessions, ./session-reader.ts), renewLock and subscribe (push mode, ./subscribe.ts).
 *
 * Mapping notes:
 * - PrefetchCount: emulated, see ./prefetch.ts.
 * - ReceiveOptions.signal: the SDK's own abortSignal would drop what the link received and leave its
 *   credit open (a message then sits locked until its lock lapses), so it is not used: the caller gets
 *   [] at once and the SDK receive runs to its end; what it brings then is kept for the next receive
 *   (entity; closing abandons it) or abandoned (dead-letter queue, sessions).
 * - abandon(message, delayMs): Service Bus has no delayed abandon. On a queue the message is re-sent as a
 *   scheduled copy (same id, deliveries so far carried in the `TaskmeshPriorDeliveries` property so
 *   DeliveryCount and MaxDeliveryCount keep counting) and the original completed. A subscription cannot be
 *   sent to alone, so there a delayed abandon is an immediate one (capabilities.visibilityTimeout false).
 * - ensureQueues(): entities are made by the infrastructure; see ServiceBusLinks.ensureEntity.
 * - health(): see ./health.ts.
 */
import type { ServiceBusReceiver } from '@azure/service-bus';
import type {
  OutgoingMessage,
  QueueCapabilities,
  QueueHealth,
  QueueMessage,
  QueueProvider,
  ReceiveOptions,
  SendResult,
} from '../provider.js';
import { receiveUnlessAborted, serial } from '../toolkit.js';
import { sendBatchOrFail } from './batch-send.js';
import { checkReceiveOptions, guard, providerError, providerKind, toProviderError } from './errors.js';
import { entityHealth } from './health.js';
import type { ServiceBusLinks } from './links.js';
import { ServiceBusHandle, resendable, toQueueMessage } from './messages.js';
import * as ops from './operations.js';
import { PrefetchBuffer } from './prefetch.js';
import { acceptSession, SessionReader, type SessionAcceptOptions } from './session-reader.js';
import type { ServiceBusSession } from './session.js';
import { subscribe, type SubscribeOptions, type Subscription } from './subscribe.js';

type DeadLetterArgs = NonNullable<Parameters<ServiceBusReceiver['deadLetterMessage']>[1]>;

/** Largest dead-letter reason/description Service Bus stores. */
const maxDeadLetterTextLength = 4096;

export class ServiceBusQueueProvider implements QueueProvider {
  readonly kind = providerKind;
  readonly capabilities: QueueCapabilities;
  readonly queueName: string;
  readonly deadLetterQueueName: string;

  private readonly prefetched: PrefetchBuffer;
  private readonly sessions: SessionReader;
  private readonly subscriptions = new Set<Subscription>();
  private readonly onMainReceiver = serial();
  private readonly onDeadLetterReceiver = serial();
  private closing?: Promise<void>;

  constructor(private readonly links: ServiceBusLinks) {
    const s = links.settings;
    this.queueName = s.entity.path;
    this.deadLetterQueueName = `${s.entity.path}/$DeadLetterQueue`;
    this.capabilities = {
      exactDeliveryCount: true,
      // Delayed abandon re-sends a scheduled copy, which only a queue can take.
      visibilityTimeout: s.entity.queueName !== undefined,
      depth: true,
      // Exact with the management endpoint; else counted by peeking, up to healthPeekLimit messages.
      deadLetterDepth: true,
      longPolling: true,
      scheduledDelivery: true,
      sessions: s.requiresSession,
    };
    this.prefetched = new PrefetchBuffer(s.prefetchCount, links.log, (e) => toProviderError(e, links.ctx('prefetch')));
    this.sessions = new SessionReader(links);
  }

  ensureQueues(): Promise<void> {
    return this.links.ensureEntity();
  }

  async receive(options: ReceiveOptions): Promise<QueueMessage[]> {
    const ctx = this.links.ctx('receive');
    this.links.assertOpen(ctx);
    checkReceiveOptions(options, ctx);
    const signal = options.signal;
    if (signal?.aborted) options = { ...options, waitMs: 0 };
    if (this.links.settings.requiresSession)
      return receiveUnlessAborted(
        this.sessions.receive(options),
        signal,
        (late) => this.abandonLate(late),
        this.lateError,
      );
    const received = this.onMainReceiver(async () => {
      const receiver = this.links.receiverFor('entity');
      const messages = this.prefetched.take(options.maxMessages);
      const need = options.maxMessages - messages.length;
      if (need > 0) {
        const wait = messages.length > 0 ? 0 : options.waitMs;
        const got = await guard(ctx, () => receiver.receiveMessages(need, { maxWaitTimeInMs: wait }));
        messages.push(...got);
        // A full answer suggests more are waiting: fetch what is there now, without waiting.
        if (got.length === need) await this.prefetched.topUp(receiver);
      }
      return messages.map((m) => toQueueMessage(m, new ServiceBusHandle(m, receiver, 'entity')));
    });
    return receiveUnlessAborted(
      received,
      signal,
      (late) => this.prefetched.keep(late.map((m) => (m.handle as ServiceBusHandle).message)),
      this.lateError,
    );
  }

  async complete(message: QueueMessage): Promise<void> {
    const h = this.links.handleOf(message, 'complete');
    await guard(this.links.ctx('complete'), () => h.receiver.completeMessage(h.message));
    h.markSettled();
  }

  async abandon(message: QueueMessage, delayMs = 0): Promise<void> {
    const ctx = this.links.ctx('abandon');
    const h = this.links.handleOf(message, 'abandon');
    const { entity, maxDeliveryCount } = this.links.settings;
    if (delayMs <= 0 || !entity.queueName || h.source === 'dead-letter') {
      if (delayMs > 0)
        this.links.log.debug('delayed abandon is not possible on this entity; abandoning at once', {
          messageId: message.id,
          delayMs,
        });
      await guard(ctx, () => h.receiver.abandonMessage(h.message));
      h.markSettled();
      return;
    }
    if (message.deliveryCount >= maxDeliveryCount) {
      // What the broker does after the last allowed delivery; the re-sent copy would restart its count.
      const description = `Message could not be consumed after ${message.deliveryCount} delivery attempts.`;
      await this.deadLetter(message, 'MaxDeliveryCountExceeded', description);
      return;
    }
    const sender = this.links.senderLink();
    const copy = resendable(h.message, message.deliveryCount);
    const [sequenceNumber] = await guard(ctx, () => sender.scheduleMessages(copy, new Date(Date.now() + delayMs)));
    try {
      await h.receiver.completeMessage(h.message);
      h.markSettled();
    } catch (e) {
      // The original stays (its lock will lapse and it comes back): withdraw the copy so it is not delivered twice.
      if (sequenceNumber) {
        await sender.cancelScheduledMessages(sequenceNumber).catch((err: unknown) =>
          this.links.log.warn('could not withdraw the re-sent copy of an abandoned message', {
            messageId: message.id,
            error: err,
          }),
        );
      }
      throw toProviderError(e, ctx);
    }
  }

  async deadLetter(message: QueueMessage, reason: string, description?: string): Promise<void> {
    const h = this.links.handleOf(message, 'deadLetter');
    // The SDK types both fields as required; an absent description is left out on the wire.
    const options = {
      deadLetterReason: reason.slice(0, maxDeadLetterTextLength),
      deadLetterErrorDescription: description?.slice(0, maxDeadLetterTextLength),
    } as DeadLetterArgs;
    await guard(this.links.ctx('deadLetter'), () => h.receiver.deadLetterMessage(h.message, options));
    h.markSettled();
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const ctx = this.links.ctx('send');
    this.links.assertOpen(ctx);
    const sbMessage = this.links.outgoing(message, ctx);
    await guard(ctx, () => this.links.senderLink().sendMessages(sbMessage));
    return { id: sbMessage.messageId };
  }

  async sendBatch(messages: OutgoingMessage[]): Promise<SendResult[]> {
    const ctx = this.links.ctx('sendBatch');
    this.links.assertOpen(ctx);
    if (messages.length === 0) return [];
    const now = Date.now();
    const sbMessages = messages.map((m) => this.links.outgoing(m, ctx, now));
    const batches = await sendBatchOrFail(this.links.senderLink(), sbMessages, ctx);
    this.links.log.debug('sent batch', { messages: sbMessages.length, batches });
    return sbMessages.map((m) => ({ id: m.messageId }));
  }

  async receiveDeadLetters(options: ReceiveOptions): Promise<QueueMessage[]> {
    const ctx = this.links.ctx('receiveDeadLetters');
    this.links.assertOpen(ctx);
    checkReceiveOptions(options, ctx);
    const waitMs = options.signal?.aborted ? 0 : options.waitMs;
    const received = this.onDeadLetterReceiver(async () => {
      const receiver = this.links.receiverFor('dead-letter');
      const got = await guard(ctx, () => receiver.receiveMessages(options.maxMessages, { maxWaitTimeInMs: waitMs }));
      return got.map((m) => toQueueMessage(m, new ServiceBusHandle(m, receiver, 'dead-letter')));
    });
    return receiveUnlessAborted(received, options.signal, (late) => this.abandonLate(late), this.lateError);
  }

  async completeDeadLetter(message: QueueMessage): Promise<void> {
    const ctx = this.links.ctx('completeDeadLetter');
    const h = this.links.handleOf(message, 'completeDeadLetter');
    if (h.source !== 'dead-letter')
      throw providerError(
        'completeDeadLetter needs a message received with receiveDeadLetters()',
        ctx,
        'InvalidHandle',
      );
    await guard(ctx, () => h.receiver.completeMessage(h.message));
    h.markSettled();
  }

  health(): Promise<QueueHealth> {
    return entityHealth(this.links);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  // ---- Service-Bus-only operations ----

  /** Sets a message aside; it is only received again by its sequence number (returned). See ./operations.ts. */
  defer(message: QueueMessage): Promise<bigint> {
    return ops.defer(this.links, message);
  }

  /** Receives deferred messages (peek-locked) by the sequence numbers `defer` returned. */
  receiveDeferred(sequenceNumbers: bigint[]): Promise<QueueMessage[]> {
    return ops.receiveDeferred(this.links, sequenceNumbers);
  }

  /** Schedules a message for `at`; returns its sequence number, for cancelScheduled. */
  schedule(message: OutgoingMessage, at: Date): Promise<bigint> {
    return ops.schedule(this.links, message, at);
  }

  cancelScheduled(sequenceNumbers: bigint | bigint[]): Promise<void> {
    return ops.cancelScheduled(this.links, sequenceNumbers);
  }

  /** Extends a message's peek-lock by the entity's lock duration; returns the new expiry. */
  renewLock(message: QueueMessage): Promise<Date> {
    return ops.renewLock(this.links, message);
  }

  /** Accepts a message session (FIFO within it); undefined when none is free within `waitMs` (./session-reader.ts). */
  acceptSession(options: SessionAcceptOptions = {}): Promise<ServiceBusSession | undefined> {
    return acceptSession(this.links, options);
  }

  /**
   * Push mode: calls `handler` for each message, at most `maxConcurrentCalls` at once (the link's credit).
   * A message the handler did not settle itself is completed when it returns and abandoned when it throws.
   */
  subscribe(handler: (message: QueueMessage) => Promise<void>, options: SubscribeOptions = {}): Subscription {
    const inner = subscribe(this.links, handler, (m) => this.complete(m), options);
    const subscription: Subscription = {
      close: async () => {
        this.subscriptions.delete(subscription);
        await inner.close();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  // ---- internals ----

  /** Messages a receive brought after its caller had stopped waiting: given back at once (best effort). */
  private abandonLate(messages: QueueMessage[]): void {
    for (const m of messages) {
      const h = m.handle as ServiceBusHandle;
      h.receiver.abandonMessage(h.message).then(
        () => h.markSettled(),
        (e: unknown) =>
          this.links.log.warn(
            'giving back a message a stopped receive brought failed; it returns when its lock lapses',
            {
              messageId: m.id,
              error: toProviderError(e, this.links.ctx('abandon')).message,
            },
          ),
      );
    }
  }

  private readonly lateError = (e: unknown): void =>
    this.links.log.debug('a receive its caller stopped waiting for failed', {
      error: toProviderError(e, this.links.ctx('receive')).message,
    });

  private async shutdown(): Promise<void> {
    const links = this.links;
    links.markClosing();
    for (const s of [...this.subscriptions]) await links.closeStep('subscription', s.close());
    // Hand prefetched messages back so they are redelivered now rather than when their locks lapse.
    const receiver = links.openReceiver;
    const buffered = this.prefetched.drain();
    if (receiver && buffered.length > 0)
      await links.closeStep(
        'abandoning prefetched messages',
        Promise.all(buffered.map((m) => receiver.abandonMessage(m))),
      );
    await links.closeStep('session', this.sessions.close());
    await links.close();
  }
}
